"""The TMS's tables of part 3: incidents (alerts grouped by dedup key, with the remedy's
before/after figure), maintenance records, training records and rules (policies)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from steadypos.tms.models import Base, utcnow


class IncidentState(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    HIGH = "high"
    LOW = "low"


class Incident(Base):
    """Alerts of one `dedup_key` while it is open. `scope` is `tid`, `mid`, `model`, `release`
    or `params` with `subject` its value; a fleet incident lists its terminals in `members`
    and absorbs their own incidents (`merged_into`)."""

    __tablename__ = "tms_incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(120), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=IncidentState.TRIGGERED, index=True)
    mid: Mapped[str | None] = mapped_column(String(15), default=None, index=True)
    evidence: Mapped[list[str]] = mapped_column()
    members: Mapped[list[str]] = mapped_column()
    alerts: Mapped[int] = mapped_column(default=1)
    merged_into: Mapped[int | None] = mapped_column(default=None, index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_by: Mapped[str | None] = mapped_column(String(80), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(80), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # The remedy's check: the figure the incident was opened on, over equal windows before it
    # opened and after it was resolved; `verdict` once the after-window has passed.
    figure: Mapped[str] = mapped_column(String(32))
    window_minutes: Mapped[int] = mapped_column(default=7 * 24 * 60)
    before: Mapped[float | None] = mapped_column(default=None)
    after: Mapped[float | None] = mapped_column(default=None)
    verdict: Mapped[str | None] = mapped_column(String(16), default=None)
    reopened: Mapped[int] = mapped_column(default=0)
    steps_done: Mapped[list[int]] = mapped_column()


class MaintenanceRecord(Base):
    __tablename__ = "tms_maintenance"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tid: Mapped[str] = mapped_column(String(8), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    checklist: Mapped[dict[str, Any]] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    incident_id: Mapped[int | None] = mapped_column(default=None)
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    by: Mapped[str] = mapped_column(String(80))


class TrainingRecord(Base):
    """An operator trained (by hand, from training mode on a terminal) or assigned a course
    from an incident (`done_at` None until it is taken)."""

    __tablename__ = "tms_training"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str] = mapped_column(String(64), index=True)
    tid: Mapped[str | None] = mapped_column(String(8), default=None)
    mid: Mapped[str | None] = mapped_column(String(15), default=None, index=True)
    course: Mapped[str] = mapped_column(String(100))
    score: Mapped[int | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[int | None] = mapped_column(default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    by: Mapped[str] = mapped_column(String(80))


class Policy(Base):
    """The rules (管理制度) for a target (`{}` is the whole fleet, else `mid`, `model`, ...)."""

    __tablename__ = "tms_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_key: Mapped[str] = mapped_column(String(120), unique=True)
    target: Mapped[dict[str, Any]] = mapped_column()
    min_app_version: Mapped[str | None] = mapped_column(String(32), default=None)
    grace_days: Mapped[int] = mapped_column(default=7)
    maintenance_interval_days: Mapped[int | None] = mapped_column(default=None)
    training_required: Mapped[bool] = mapped_column(default=False)
    missing_after_minutes: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))


class OperatorError(Base):
    """An operator logged in on a terminal whose uploaded log was diagnosed as operator error
    or training gap (what `GET /training/gaps` is made of)."""

    __tablename__ = "tms_operator_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str] = mapped_column(String(64), index=True)
    tid: Mapped[str] = mapped_column(String(8))
    mid: Mapped[str] = mapped_column(String(15), index=True)
    cause: Mapped[str] = mapped_column(String(40))
    upload_id: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)
