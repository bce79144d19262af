"""The TMS's notification tables: hooks of a user or team (a webhook or an e-mail address) and
the outbox of what each hook is owed about an incident, delivered with retries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from steadypos.tms.models import Base, utcnow


class HookKind(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class NotifyEvent(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"


class NotifyHook(Base):
    """`target` is the webhook's URL or the e-mail address; `secret` signs a webhook's body."""

    __tablename__ = "tms_notify_hooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(300))
    secret: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """One event of one incident owed to one hook; `idem_key` is unique, so that a repeated
    event is owed once, and travels with every attempt so that the receiver can drop repeats."""

    __tablename__ = "tms_notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idem_key: Mapped[str] = mapped_column(String(120), unique=True)
    hook_id: Mapped[int] = mapped_column(index=True)
    incident_id: Mapped[int] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    failed: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
