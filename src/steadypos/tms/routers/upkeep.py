"""`/maintenance` (records, the due list), `/training-records`, `/training/gaps`, and the
operator check a terminal makes at login (`training_required`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from steadypos.tms.deps import Caller, Db, Staff, User, device_or_staff
from steadypos.tms.errors import NotFound
from steadypos.tms.models import FleetTerminal
from steadypos.tms.schemas.common import TID_PATTERN, Page
from steadypos.tms.schemas.upkeep import (
    Due,
    Gap,
    MaintenanceIn,
    MaintenanceOut,
    OperatorCheck,
    TrainingIn,
    TrainingOut,
)
from steadypos.tms.services import policies, upkeep

router = APIRouter(tags=["maintenance and training"])
TidPath = Annotated[str, Path(pattern=TID_PATTERN)]
OperatorPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")]


@router.post("/maintenance", response_model=MaintenanceOut, status_code=201)
def maintain(body: MaintenanceIn, db: Db, actor: Staff) -> MaintenanceOut:
    """Maintenance done on a terminal, with its checklist; the terminal's next log upload is
    diagnosed with it (a `maintenance` event)."""
    row = upkeep.record_maintenance(db, actor, body.tid, body.kind,
                                    {str(k): v for k, v in body.checklist.items()},
                                    body.note or "",
                                    int(body.incident) if body.incident else None)
    db.commit()
    return MaintenanceOut.model_validate(row)


@router.get("/maintenance/due", response_model=Page[Due])
def due(db: Db, actor: User) -> Page[Due]:
    """Terminals whose last maintenance is older than their interval (default 180 days)."""
    rows = upkeep.due(db, actor)
    return Page[Due](items=[Due(**r) for r in rows], total=len(rows))


@router.post("/training-records", response_model=TrainingOut, status_code=201)
def train(body: TrainingIn, db: Db, actor: Staff) -> TrainingOut:
    row = upkeep.record_training(db, actor, body.operator, body.tid, body.mid, body.course,
                                 body.score, "manual")
    db.commit()
    return TrainingOut.model_validate(row)


@router.get("/training/gaps", response_model=Page[Gap])
def gaps(db: Db, actor: User) -> Page[Gap]:
    """Operators with operator errors and no training record."""
    rows = upkeep.gaps(db, actor)
    return Page[Gap](items=[Gap(**r) for r in rows], total=len(rows))


@router.get("/terminals/{tid}/operators/{operator}", response_model=OperatorCheck)
def operator(tid: TidPath, operator: OperatorPath, db: Db, actor: Caller) -> OperatorCheck:
    """What `operator` may log in to on `tid`: live trading only with a training record where
    the rules require training (the terminal asks at login)."""
    device_or_staff(actor, tid)
    term = db.get(FleetTerminal, tid)
    if term is None:
        raise NotFound(f"no terminal {tid}")
    required = policies.effective(db, term).training_required
    trained = upkeep.trained(db, operator, term.mid)
    modes: list[str] = ["training"] + (["live"] if trained or not required else [])
    return OperatorCheck(operator=operator, tid=tid, trained=trained,
                         training_required=required, modes=modes)  # type: ignore[arg-type]
