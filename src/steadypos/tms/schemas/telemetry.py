"""Heartbeats (health readings as event log v1 names them), their instructions, log uploads,
alerts and a terminal's reading history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from steadypos.tms.schemas.common import Model, Tid, Time

VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$"
Version = Annotated[str, Field(pattern=VERSION_PATTERN, description="an app version")]
FUTURE_SKEW = timedelta(minutes=5)
OLDEST = timedelta(days=7)


class Strict(Model):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Health(Strict):
    battery_pct: int | None = Field(None, ge=0, le=100)
    power: Literal["ac", "battery", "unstable"] | None = None
    cpu_temp_c: int | None = Field(None, ge=-40, le=150)
    mem_free_mb: int | None = Field(None, ge=0, le=1_048_576)
    mem_total_mb: int | None = Field(None, ge=1, le=1_048_576)
    storage_free_mb: int | None = Field(None, ge=0, le=100_000_000)
    signal_dbm: int | None = Field(None, ge=-150, le=0)
    printer: Literal["ok", "paper_out", "jam", "head_fault"] | None = None

    @model_validator(mode="after")
    def _memory(self) -> Health:
        if self.mem_free_mb is not None and self.mem_total_mb is not None \
                and self.mem_free_mb > self.mem_total_mb:
            raise ValueError(f"mem_free_mb {self.mem_free_mb} is more than mem_total_mb "
                             f"{self.mem_total_mb}")
        return self


class Sessions(Strict):
    started: int = Field(ge=0, le=100_000)
    crashed: int = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _at_most_started(self) -> Sessions:
        if self.crashed > self.started:
            raise ValueError(f"crashed {self.crashed} is more than started {self.started}")
        return self


class ReportedParams(Model):
    """The values the terminal runs with (its own copy, which a technician may have edited)."""

    model_config = ConfigDict(extra="ignore")
    tid: str | None = Field(None, max_length=8)
    mid: str | None = Field(None, max_length=15)
    host: str | None = Field(None, max_length=253)
    port: int | None = Field(None, ge=0, le=65535)
    tpdu: str | None = Field(None, max_length=10)
    timeout_s: int | None = Field(None, ge=0, le=3600)
    txn_limit_fen: int | None = Field(None, ge=0, le=10**12)
    receipt_header: str | None = Field(None, max_length=200)


class ReleaseReport(Strict):
    version: Version
    state: Literal["verified", "switched", "refused"]
    reason: str | None = Field(None, max_length=300)


class HeartbeatIn(Strict):
    tid: Tid
    ts: datetime = Field(description="the terminal's clock, RFC 3339 with a zone")
    app_version: Version
    params_version: int = Field(ge=0, le=2_000_000_000)
    health: Health
    sessions: dict[Version, Sessions] = Field(default_factory=dict, max_length=16)
    pending_reversals: int = Field(0, ge=0, le=10_000)
    open_batch: int | None = Field(None, ge=1, le=999_999)
    params: ReportedParams | None = None
    release: ReleaseReport | None = None

    @field_validator("ts")
    @classmethod
    def _recent(cls, ts: datetime) -> datetime:
        if ts.tzinfo is None:
            raise ValueError("needs a zone (RFC 3339, e.g. 2026-12-02T08:00:00Z)")
        now = datetime.now(UTC)
        if ts > now + FUTURE_SKEW:
            raise ValueError("is more than 5 minutes ahead of the TMS's clock")
        if ts < now - OLDEST:
            raise ValueError("is more than 7 days old")
        return ts.astimezone(UTC)


class ParamsInstruction(Model):
    version: int


class ReleaseInstruction(Model):
    version: str
    sha256: str
    rollout: int
    signature: str = Field(description="Ed25519 over the release manifest, base64")


class Instructions(Model):
    parameters: ParamsInstruction | None = None
    release: ReleaseInstruction | None = None
    actions: list[str] = Field(default_factory=list, description=(
        "`upload_logs`, `rollback`, `mandatory_update` (the release is below the rules' "
        "minimum version: rollout 0)"))


class LogAccepted(Model):
    id: int | None = Field(description="the upload's id (null while the bus carries it)")
    sha256: str
    events: int | None
    cause: str | None


class AlertOut(Model):
    id: int
    scope: str
    subject: str
    cause: str
    severity: str
    evidence: list[str]
    raised_at: Time
    cleared_at: Time | None


class HeartbeatHour(Model):
    """One hour of a terminal's heartbeats: the worst of each reading, and its sessions."""

    hour: Time
    heartbeats: int
    battery_pct_min: int | None
    cpu_temp_c_max: int | None
    mem_free_mb_min: int | None
    storage_free_mb_min: int | None
    signal_dbm_min: int | None
    printer: str | None
    sessions: int
    crashed: int
