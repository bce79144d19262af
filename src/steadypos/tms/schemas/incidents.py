"""Incidents as the contract gives them: scope, cause, severity, status, runbook, evidence,
times; the remedy's check (figure before and after); the one-click actions and MTTA/MTTR."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from steadypos.tms.ops_models import Incident
from steadypos.tms.schemas.common import Model, Text64, Text300, Time
from steadypos.tms.services import runbooks
from steadypos.tms.services.runbooks import Action


class RunbookStep(Model):
    n: int
    en: str
    zh: str
    done: bool


class Check(Model):
    figure: str
    window_minutes: int
    before: float | None
    after: float | None
    verdict: str | None
    reopened: int


class IncidentOut(Model):
    id: str
    scope: dict[str, str] = Field(description="one of tid, mid, model, release, params")
    members: list[str] = Field(description="the terminals of a fleet incident")
    cause: str
    severity: str
    status: str
    runbook: list[RunbookStep]
    actions: list[Action]
    evidence: list[str]
    alerts: int
    opened_at: Time
    acked_at: Time | None
    resolved_at: Time | None
    note: str | None
    check: Check

    @classmethod
    def of(cls, inc: Incident) -> IncidentOut:
        return cls(id=str(inc.id), scope={inc.scope: inc.subject}, members=inc.members,
                   cause=inc.cause, severity=inc.severity, status=inc.status,
                   runbook=[RunbookStep.model_validate(s)
                            for s in runbooks.runbook(inc.cause, inc.steps_done)],
                   actions=list(runbooks.plan(inc.cause).actions), evidence=inc.evidence,
                   alerts=inc.alerts, opened_at=inc.opened_at, acked_at=inc.acked_at,
                   resolved_at=inc.resolved_at, note=inc.note,
                   check=Check(figure=inc.figure, window_minutes=inc.window_minutes,
                               before=inc.before, after=inc.after, verdict=inc.verdict,
                               reopened=inc.reopened))


class ResolveIn(Model):
    note: Text300 | None = None
    window_minutes: int | None = Field(None, ge=1, le=90 * 24 * 60, description=(
        "the windows the remedy is measured over, before it opened and after it is resolved "
        "(default 7 days)"))


class StepIn(Model):
    done: bool = True


class ActionIn(Model):
    action: Action
    operator: Text64 | None = Field(None, description="assign_training: who is to be trained")
    course: Text64 | None = None
    kind: Literal["cleaning", "inspection", "part_replaced", "software_update"] = "inspection"

    @model_validator(mode="after")
    def _operator(self) -> ActionIn:
        if self.action == Action.ASSIGN_TRAINING and not self.operator:
            raise ValueError("assign_training needs an operator")
        return self


class ActionDone(Model):
    action: Action
    done: dict[str, Any]


class Stats(Model):
    mtta_minutes: float | None
    mttr_minutes: float | None
    acknowledged: int
    resolved: int
    total: int
    by_status: dict[str, int]
