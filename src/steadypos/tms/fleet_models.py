"""The TMS's tables of part 2: parameter templates and their versions, releases and staged
rollouts, heartbeats with their session counts, uploaded logs and alerts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from steadypos.tms.models import Base, utcnow


class RolloutState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    HALTED = "halted"
    ROLLED_BACK = "rolled_back"


class OfferState(StrEnum):
    """A terminal's side of a rollout, as its heartbeats report it."""

    OFFERED = "offered"
    VERIFIED = "verified"  # installed dormant, self-check passed
    SWITCHED = "switched"  # running the release
    REFUSED = "refused"  # signature, sha256 or self-check failed: it kept its working app
    ROLLED_BACK = "rolled_back"  # back on the release it ran before


class ParamTemplate(Base):
    __tablename__ = "tms_param_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column()  # the newest version's number
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParamVersion(Base):
    """One version of a template's values. Numbers are global (one counter for every template),
    so "assigned version newer than reported" is one comparison whatever the template."""

    __tablename__ = "tms_param_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    template_id: Mapped[int] = mapped_column(ForeignKey("tms_param_templates.id"), index=True)
    values: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class ParamAssignment(Base):
    __tablename__ = "tms_param_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("tms_param_templates.id"), index=True)
    target: Mapped[dict[str, Any]] = mapped_column()
    terminals: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(80))


class Release(Base):
    __tablename__ = "tms_releases"
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    signature: Mapped[str] = mapped_column(String(100))  # Ed25519, base64, over the manifest
    compatible: Mapped[list[dict[str, str]]] = mapped_column()
    notes: Mapped[str] = mapped_column(Text, default="")
    package: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class Rollout(Base):
    __tablename__ = "tms_rollouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release: Mapped[str] = mapped_column(ForeignKey("tms_releases.version"), index=True)
    target: Mapped[dict[str, Any]] = mapped_column()
    stages: Mapped[list[int]] = mapped_column()
    stage: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16), default=RolloutState.RUNNING, index=True)
    min_sessions: Mapped[int] = mapped_column()
    max_crash_free_drop: Mapped[float] = mapped_column()  # points of a percentage, not money
    observe_minutes: Mapped[int] = mapped_column()
    reason: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    stage_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(80))


class RolloutTerminal(Base):
    """A terminal offered the release, at which stage, what it ran before, where it is now."""

    __tablename__ = "tms_rollout_terminals"
    rollout_id: Mapped[int] = mapped_column(ForeignKey("tms_rollouts.id"), primary_key=True)
    tid: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    stage: Mapped[int] = mapped_column()
    from_version: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(16), default=OfferState.OFFERED)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Heartbeat(Base):
    """One heartbeat's readings (event log v1's `health`). Its key, (tid, ts), makes a
    heartbeat delivered twice (a retry, a bus redelivery) count once."""

    __tablename__ = "tms_heartbeats"
    tid: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    app_version: Mapped[str] = mapped_column(String(32))
    params_version: Mapped[int] = mapped_column()
    battery_pct: Mapped[int | None] = mapped_column(default=None)
    power: Mapped[str | None] = mapped_column(String(16), default=None)
    cpu_temp_c: Mapped[int | None] = mapped_column(default=None)
    mem_free_mb: Mapped[int | None] = mapped_column(default=None)
    mem_total_mb: Mapped[int | None] = mapped_column(default=None)
    storage_free_mb: Mapped[int | None] = mapped_column(default=None)
    signal_dbm: Mapped[int | None] = mapped_column(default=None)
    printer: Mapped[str | None] = mapped_column(String(16), default=None)
    pending_reversals: Mapped[int] = mapped_column(default=0)
    open_batch: Mapped[int | None] = mapped_column(default=None)


class SessionCount(Base):
    """Sessions started and crashed on one app version, as one heartbeat reported them."""

    __tablename__ = "tms_session_counts"
    tid: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    app_version: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    started: Mapped[int] = mapped_column()
    crashed: Mapped[int] = mapped_column()


class LogUpload(Base):
    __tablename__ = "tms_log_uploads"
    __table_args__ = (UniqueConstraint("tid", "sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tid: Mapped[str] = mapped_column(String(8), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    events: Mapped[int] = mapped_column()
    bad_lines: Mapped[int] = mapped_column()
    episodes: Mapped[int] = mapped_column()
    cause: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float] = mapped_column()
    evidence: Mapped[list[str]] = mapped_column()


class Alert(Base):
    """Something ops should look at: a missing heartbeat, a halted rollout, a diagnosed log.
    One open alert per `dedup_key`; part 3 groups them into incidents."""

    __tablename__ = "tms_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(120), index=True)
    scope: Mapped[str] = mapped_column(String(16))  # tid, mid, model or release
    subject: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))
    mid: Mapped[str | None] = mapped_column(String(15), default=None, index=True)
    evidence: Mapped[list[str]] = mapped_column()
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
