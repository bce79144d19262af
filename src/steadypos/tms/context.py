"""One TMS instance's shared pieces: settings, database sessions, the CA, the host's registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from steadypos.tms.ca import TmsCa
from steadypos.tms.hostlink import HostLink
from steadypos.tms.settings import Settings
from steadypos.tms.signing import ReleaseKey


@dataclass
class TmsContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    ca: TmsCa
    host: HostLink
    release_key: ReleaseKey
    bus: Any = None  # a bus.Publisher when the API hands heartbeats and logs to NATS
    # rollout id -> monotonic time of its last evaluation after a heartbeat (rate limit)
    evaluated: dict[int, float] = field(default_factory=dict)
