"""`/rollouts`: staged rollouts of a release, their state, and halt / resume / rollback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select

from steadypos.tms.deps import Db, Staff
from steadypos.tms.fleet_models import Rollout
from steadypos.tms.schemas.common import ID_PATTERN, Page, Paging
from steadypos.tms.schemas.releases import RolloutCreated, RolloutIn, RolloutOut
from steadypos.tms.services import rollouts

router = APIRouter(prefix="/rollouts", tags=["rollouts"])
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def out(db: Db, rollout: Rollout) -> RolloutOut:
    counts = rollouts.counts(db, rollout.id)
    return RolloutOut(id=rollout.id, release=rollout.release, target=rollout.target,
                      stages=rollout.stages, stage=rollout.stage, state=rollout.state,
                      min_sessions=rollout.min_sessions,
                      max_crash_free_drop=rollout.max_crash_free_drop,
                      observe_minutes=rollout.observe_minutes, reason=rollout.reason,
                      started_at=rollout.started_at, stage_started_at=rollout.stage_started_at,
                      ended_at=rollout.ended_at, **counts)


@router.post("", response_model=RolloutCreated, status_code=201)
def create(body: RolloutIn, db: Db, actor: Staff) -> RolloutCreated:
    """Start a staged rollout: its first stage's terminals are offered the release now."""
    rollout = rollouts.create(db, actor, body)
    db.commit()
    return RolloutCreated(id=rollout.id, state=rollout.state)


@router.get("", response_model=Page[RolloutOut])
def listing(db: Db, actor: Staff, paging: Annotated[Paging, Depends()]) -> Page[RolloutOut]:
    rows = list(db.scalars(select(Rollout).order_by(Rollout.id.desc())))
    return Page[RolloutOut](items=[out(db, r) for r in
                                   rows[paging.offset:paging.offset + paging.limit]],
                            total=len(rows))


@router.get("/{rollout_id}", response_model=RolloutOut)
def one(rollout_id: IdPath, db: Db, actor: Staff) -> RolloutOut:
    """State, stage, the halt's reason (both crash-free rates and session counts), terminals
    offered and switched."""
    rollout = rollouts.get(db, int(rollout_id))
    rollouts.evaluate(db, rollout)
    db.commit()
    return out(db, rollout)


def _change(action: str):  # type: ignore[no-untyped-def]
    def endpoint(rollout_id: IdPath, db: Db, actor: Staff) -> RolloutOut:
        rollout = rollouts.change(db, actor, int(rollout_id), action)
        db.commit()
        return out(db, rollout)

    endpoint.__name__ = action
    endpoint.__doc__ = {"halt": "Halt by hand: no further terminal is offered the release.",
                        "resume": "Resume a halted rollout at its stage.",
                        "rollback": "Roll a halted rollout back: terminals that switched go "
                                    "back to the release they ran before."}[action]
    return endpoint


for _action in ("halt", "resume", "rollback"):
    router.post(f"/{{rollout_id}}/{_action}", response_model=RolloutOut)(_change(_action))
