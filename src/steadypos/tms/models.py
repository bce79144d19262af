"""The TMS's own tables (prefixed `tms_`; the host's tables live in the same database and are
reached only through the host's registry code). Times are stored as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime that is always aware UTC on the way out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    MERCHANT = "merchant"


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class TerminalState(StrEnum):
    ASSIGNED = "assigned"
    SHIPPED = "shipped"
    ACTIVE = "active"
    LOCKED = "locked"
    RETIRED = "retired"


class TokenKind(StrEnum):
    API = "api"  # bearer token of a user
    SESSION = "session"  # the pages' cookie
    TERMINAL = "terminal"  # a device's token from activation


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON,
                           list[int]: JSON, list[dict[str, str]]: JSON}


class User(Base):
    __tablename__ = "tms_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    mid: Mapped[str | None] = mapped_column(String(15), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """A bearer token, session or terminal token, kept only as its sha256."""

    __tablename__ = "tms_tokens"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("tms_users.id"), default=None)
    tid: Mapped[str | None] = mapped_column(String(8), default=None)
    csrf: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginThrottle(Base):
    """Failed logins in a row per username and client; a lock after too many."""

    __tablename__ = "tms_login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class Business:
    """What an application says of a business, and what its merchant keeps of it."""

    legal_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(300))
    settlement_account: Mapped[str] = mapped_column(String(32))


class Application(Business, Base):
    __tablename__ = "tms_applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_no: Mapped[str] = mapped_column(String(18), index=True)
    terminals_requested: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.SUBMITTED)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    mid: Mapped[str | None] = mapped_column(String(15), default=None)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)


class Merchant(Business, Base):
    __tablename__ = "tms_merchants"
    mid: Mapped[str] = mapped_column(String(15), primary_key=True)
    licence_no: Mapped[str] = mapped_column(String(18), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("tms_applications.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FleetTerminal(Base):
    """A terminal as the TMS manages it: shipping, activation, parameters and last telemetry."""

    __tablename__ = "tms_terminals"
    tid: Mapped[str] = mapped_column(String(8), primary_key=True)
    mid: Mapped[str] = mapped_column(ForeignKey("tms_merchants.mid"), index=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    brand: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64), index=True)
    firmware: Mapped[str] = mapped_column(String(64))
    mac_algorithm: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=TerminalState.ASSIGNED, index=True)
    carrier: Mapped[str | None] = mapped_column(String(64), default=None)
    tracking_no: Mapped[str | None] = mapped_column(String(64), default=None)
    code_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    code_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Activation in progress: the TMK sealed under the host's LMK, kept only until the device
    # has its answer, so that a retry after a crash hands out the key the host registered.
    pending_tmk: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    # Parameters: the template and version assigned; what the terminal last reported running;
    # whether the host was told a newer version waits (processing requirement 6), and whether
    # ops pushed the assigned version again (drift repair).
    template_id: Mapped[int | None] = mapped_column(default=None, index=True)
    assigned_version: Mapped[int] = mapped_column(default=0)
    params_version: Mapped[int | None] = mapped_column(default=None)
    reported_params: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    params_flag: Mapped[bool] = mapped_column(default=False)
    params_push: Mapped[bool] = mapped_column(default=False)
    # Telemetry: the last heartbeat's readings (the history is in tms_heartbeats).
    app_version: Mapped[str | None] = mapped_column(String(32), default=None)
    last_heartbeat: Mapped[datetime | None] = mapped_column(default=None, index=True)
    health: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    pending_reversals: Mapped[int] = mapped_column(default=0)
    open_batch: Mapped[int | None] = mapped_column(default=None)
    release_report: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class AuditEntry(Base):
    __tablename__ = "tms_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    mid: Mapped[str | None] = mapped_column(String(15), default=None, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class Sequence(Base):
    """Counters that number MIDs and TIDs."""

    __tablename__ = "tms_sequences"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
