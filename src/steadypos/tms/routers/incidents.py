"""`/incidents`: alerts grouped by dedup key, their life cycle (ack, resolve), runbook steps
ticked off, the one-click actions, and MTTA/MTTR."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from steadypos.tms.deps import Ctx, Db, Staff, User
from steadypos.tms.ops_models import IncidentState
from steadypos.tms.schemas.common import ID_PATTERN, Page, Paging
from steadypos.tms.schemas.incidents import (
    ActionDone,
    ActionIn,
    IncidentOut,
    ResolveIn,
    Stats,
    StepIn,
)
from steadypos.tms.services import incidents, remedies

router = APIRouter(prefix="/incidents", tags=["incidents"])
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("", response_model=Page[IncidentOut])
def listing(db: Db, actor: User, paging: Annotated[Paging, Depends()],
            status: IncidentState | None = None,
            cause: Annotated[str | None, Query(max_length=40)] = None,
            scope: Annotated[str | None, Query(pattern="^(tid|mid|model|release|params)$")]
            = None) -> Page[IncidentOut]:
    """Incidents, newest first (a merchant sees its own); filters: status, cause, scope."""
    rows, total = incidents.listing(db, actor, status, cause, scope, paging.limit,
                                    paging.offset)
    return Page[IncidentOut](items=[IncidentOut.of(i) for i in rows], total=total)


@router.get("/stats", response_model=Stats)
def stats(db: Db, actor: User) -> Stats:
    """MTTA and MTTR in minutes, and how many incidents are in each state."""
    return Stats(**incidents.stats(db, actor))  # type: ignore[arg-type]


@router.get("/{incident_id}", response_model=IncidentOut)
def one(incident_id: IdPath, db: Db, actor: User) -> IncidentOut:
    return IncidentOut.of(incidents.get(db, actor, int(incident_id)))


@router.post("/{incident_id}/ack", response_model=IncidentOut)
def ack(incident_id: IdPath, db: Db, actor: User) -> IncidentOut:
    """triggered → acknowledged (409 from any other state)."""
    inc = incidents.ack(db, actor, int(incident_id))
    db.commit()
    return IncidentOut.of(inc)


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
def resolve(incident_id: IdPath, body: ResolveIn, db: Db, actor: User) -> IncidentOut:
    """→ resolved with a `note`; the figure before it opened is measured now and the figure
    after once the same window has passed (then a remedy that did nothing reopens it)."""
    inc = incidents.resolve(db, actor, int(incident_id), body.note, body.window_minutes)
    db.commit()
    return IncidentOut.of(inc)


@router.post("/{incident_id}/steps/{step}", response_model=IncidentOut)
def step(incident_id: IdPath, step: Annotated[int, Path(ge=1, le=20)], body: StepIn, db: Db,
         actor: User) -> IncidentOut:
    """Tick a runbook step off (or back on with `done: false`)."""
    inc = incidents.tick(db, actor, int(incident_id), step, body.done)
    db.commit()
    return IncidentOut.of(inc)


@router.post("/{incident_id}/actions", response_model=ActionDone)
def action(incident_id: IdPath, body: ActionIn, db: Db, ctx: Ctx, actor: Staff) -> ActionDone:
    """One of the runbook's actions, done by the TMS: push_parameters, hold_release,
    schedule_maintenance, assign_training."""
    done: dict[str, Any] = remedies.act(db, ctx, actor, int(incident_id), body)
    db.commit()
    return ActionDone(action=body.action, done=done)
