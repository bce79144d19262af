"""The one-click actions of an incident's runbook, done by the TMS itself: push the
parameters again to its terminals, hold (halt) the release's running rollouts, schedule
maintenance, assign training. Each is audited and noted in the incident's evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Conflict
from steadypos.tms.fleet_models import Rollout, RolloutState
from steadypos.tms.models import utcnow
from steadypos.tms.ops_models import Incident
from steadypos.tms.schemas.incidents import ActionIn
from steadypos.tms.services import drift, figures, incidents, rollouts, runbooks, upkeep
from steadypos.tms.services.runbooks import Action


def _tids(db: Session, inc: Incident) -> list[str]:
    tids = figures.terminals(db, inc)
    if not tids:
        raise Conflict(f"incident {inc.id} names no terminal to act on")
    return tids


def _push(db: Session, ctx: TmsContext, actor: Actor, inc: Incident,
          body: ActionIn) -> dict[str, Any]:
    tids = _tids(db, inc)
    for tid in tids:
        drift.push(db, ctx, actor, tid)
    return {"terminals": tids}


def _hold(db: Session, ctx: TmsContext, actor: Actor, inc: Incident,
          body: ActionIn) -> dict[str, Any]:
    if inc.scope != "release":
        raise Conflict(f"incident {inc.id} is of a {inc.scope}, not of a release")
    running = list(db.scalars(select(Rollout).where(Rollout.release == inc.subject,
                                                    Rollout.state == RolloutState.RUNNING)))
    for rollout in running:
        rollouts.change(db, actor, rollout.id, "halt")
    halted = db.scalars(select(Rollout.id).where(Rollout.release == inc.subject,
                                                 Rollout.state == RolloutState.HALTED))
    return {"release": inc.subject, "halted": sorted(halted)}


def _maintain(db: Session, ctx: TmsContext, actor: Actor, inc: Incident,
              body: ActionIn) -> dict[str, Any]:
    when = utcnow() + timedelta(days=1)
    ids = [upkeep.schedule(db, actor, tid, body.kind, when, inc.id).id
           for tid in _tids(db, inc)]
    return {"scheduled": ids, "for": when.isoformat()}


def _train(db: Session, ctx: TmsContext, actor: Actor, inc: Incident,
           body: ActionIn) -> dict[str, Any]:
    assert body.operator is not None
    tid = inc.subject if inc.scope == "tid" else None
    row = upkeep.record_training(db, actor, body.operator, tid, inc.mid,
                                 body.course or f"runbook:{inc.cause}", None, "incident",
                                 incident_id=inc.id, done=False)
    return {"training": row.id, "operator": row.operator, "course": row.course}


DO = {Action.PUSH_PARAMETERS: _push, Action.HOLD_RELEASE: _hold,
      Action.SCHEDULE_MAINTENANCE: _maintain, Action.ASSIGN_TRAINING: _train}


def act(db: Session, ctx: TmsContext, actor: Actor, incident_id: int,
        body: ActionIn) -> dict[str, Any]:
    """Carry out one of the incident's actions (only those its runbook offers)."""
    inc = incidents.get(db, actor, incident_id)
    offered = runbooks.plan(inc.cause).actions
    if body.action not in offered:
        raise Conflict(f"the runbook of {inc.cause} offers "
                       f"{', '.join(offered) or 'no action'}, not {body.action}")
    done = DO[body.action](db, ctx, actor, inc, body)
    inc = incidents.get(db, actor, incident_id)
    inc.evidence = inc.evidence + [f"{actor.name}: {body.action}"]
    return done
