"""Parameter templates, their versions, assignment, what a terminal fetches, and drift."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from steadypos.tms.schemas.common import Mid, Model, Text64, Text100, Time
from steadypos.tms.schemas.targets import Target

HOST_PATTERN = r"^[0-9A-Za-z]([0-9A-Za-z.-]{0,251}[0-9A-Za-z])?$"
MAX_TXN_LIMIT_FEN = 10**12 - 1  # what F4 (n12) carries


class ParamValues(Model):
    """What a terminal runs with. Unknown keys are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)
    host: str = Field(pattern=HOST_PATTERN, max_length=253, description="the acquirer host")
    port: int = Field(ge=1, le=65535)
    tpdu: str = Field(pattern=r"^60[0-9A-Fa-f]{8}$", description="10 hex digits, 60 + dest + src")
    timeout_s: int = Field(ge=5, le=120, description="seconds to wait for the host's answer")
    txn_limit_fen: int = Field(ge=1, le=MAX_TXN_LIMIT_FEN, description="largest sale, fen")
    receipt_header: Text100
    mid: Mid | None = Field(None, description="a merchant's own template: its MID")
    missing_after_minutes: int = Field(30, ge=1, le=10_080,
                                       description="no heartbeat for this long raises an alert")


class TemplateIn(Model):
    model_config = ConfigDict(extra="forbid")
    name: Text64
    values: ParamValues


class TemplateUpdate(Model):
    model_config = ConfigDict(extra="forbid")
    values: ParamValues


class TemplateCreated(Model):
    id: int
    version: int


class AssignIn(Model):
    model_config = ConfigDict(extra="forbid")
    target: Target


class Assigned(Model):
    template_id: int
    version: int
    terminals: Annotated[list[str], Field(description="TIDs now assigned this version")]


class TemplateOut(Model):
    id: int
    name: str
    version: int
    values: ParamValues
    created_at: Time
    terminals: int = 0


class TerminalParameters(Model):
    version: int
    values: dict[str, object]


class FieldDrift(Model):
    field: str
    expected: object
    reported: object
    source: str = Field(description="`template` (the assigned version) or `registry` (the host)")


class DriftOut(Model):
    tid: str
    mid: str
    assigned_version: int
    reported_version: int | None
    fields: list[FieldDrift]
