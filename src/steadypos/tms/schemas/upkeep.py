"""Maintenance records and the due list, training records and gaps, rules (policies)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from steadypos.tms.schemas.common import Mid, Model, Text64, Text100, Text300, Tid, Time
from steadypos.tms.schemas.targets import Target
from steadypos.tms.schemas.telemetry import Version

Kind = Literal["cleaning", "inspection", "part_replaced", "software_update"]
ChecklistItem = Literal["cleaning", "cables", "worn_parts", "print_head", "reader"]


class MaintenanceIn(Model):
    model_config = ConfigDict(extra="forbid")
    tid: Tid
    kind: Kind
    checklist: dict[ChecklistItem, bool] = Field(default_factory=dict)
    note: Text300 | None = None
    incident: str | None = Field(None, pattern=r"^\d{1,9}$",
                                 description="the incident this maintenance remedies")


class MaintenanceOut(Model):
    id: int
    tid: str
    kind: str
    checklist: dict[str, bool]
    note: str
    scheduled_for: Time | None
    done_at: Time | None
    by: str


class Due(Model):
    tid: str
    mid: str
    last_maintenance: Time | None
    interval_days: int
    overdue_days: int


class TrainingIn(Model):
    model_config = ConfigDict(extra="forbid")
    operator: Text64
    tid: Tid | None = None
    mid: Mid | None = None
    course: Text100
    score: int | None = Field(None, ge=0, le=100)


class TrainingOut(Model):
    id: int
    operator: str
    tid: str | None
    mid: str | None
    course: str
    score: int | None
    source: str
    at: Time
    done_at: Time | None


class Gap(Model):
    operator: str
    mid: str
    errors: int
    last_error_at: Time


class OperatorCheck(Model):
    operator: str
    tid: str
    trained: bool
    training_required: bool
    modes: list[Literal["training", "live"]] = Field(
        description="what the operator may log in to on this terminal")


class PolicyIn(Model):
    model_config = ConfigDict(extra="forbid")
    target: Target
    min_app_version: Version | None = None
    grace_days: int | None = Field(None, ge=0, le=365)
    maintenance_interval_days: int | None = Field(None, ge=1, le=3650)
    training_required: bool | None = None
    missing_after_minutes: int | None = Field(None, ge=1, le=10_080)

    def rules(self) -> dict[str, Any]:
        return self.model_dump(exclude={"target"}, exclude_none=True)


class PolicyOut(Model):
    id: int
    target: dict[str, Any]
    min_app_version: str | None
    grace_days: int
    maintenance_interval_days: int | None
    training_required: bool
    missing_after_minutes: int | None
    updated_at: Time
    updated_by: str
