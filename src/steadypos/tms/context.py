"""One TMS instance's shared pieces: settings, database sessions, the CA, the host's registry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from steadypos.tms.ca import TmsCa
from steadypos.tms.hostlink import HostLink
from steadypos.tms.settings import Settings


@dataclass
class TmsContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    ca: TmsCa
    host: HostLink
