"""Staged rollouts: each stage offers the release to a larger share of the target's compatible
terminals; a stage advances after it has observed `min_sessions` sessions on the new release for
`observe_minutes`; the rollout halts itself as soon as the new release's crash-free session rate
falls more than `max_crash_free_drop` points below the release it replaces, over the target's
terminals since the rollout began."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Conflict, Invalid, NotFound
from steadypos.tms.fleet_models import (
    OfferState,
    Release,
    Rollout,
    RolloutState,
    RolloutTerminal,
    SessionCount,
)
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.schemas.releases import RolloutIn
from steadypos.tms.services import alerts, releases, targets
from steadypos.tms.services.alerts import TelemetryCause

R = RolloutState
# action: (states it may start from, state it leads to)
TRANSITIONS = {"halt": ({R.RUNNING}, R.HALTED), "resume": ({R.HALTED}, R.RUNNING),
               "rollback": ({R.HALTED}, R.ROLLED_BACK)}


@dataclass(frozen=True)
class Rate:
    versions: tuple[str, ...]
    sessions: int
    crashed: int

    @property
    def pct(self) -> float | None:
        return releases.crash_free_pct(self.sessions, self.crashed)

    def as_dict(self) -> dict[str, Any]:
        return {"versions": list(self.versions), "sessions": self.sessions,
                "crashed": self.crashed, "crash_free_pct": self.pct}


def get(db: Session, rollout_id: int) -> Rollout:
    rollout = db.get(Rollout, rollout_id)
    if rollout is None:
        raise NotFound(f"no rollout {rollout_id}")
    return rollout


def _order(rollout_id: int, tid: str) -> str:
    """A stable shuffle: which terminals come first differs per rollout, never per call."""
    return hashlib.sha256(f"{rollout_id}:{tid}".encode()).hexdigest()


def eligible(db: Session, rollout: Rollout, release: Release) -> list[FleetTerminal]:
    terms = [t for t in targets.terminals_in(db, rollout.target)
             if t.status == TerminalState.ACTIVE and releases.compatible(release, t)]
    return sorted(terms, key=lambda t: _order(rollout.id, t.tid))


def _offer_stage(db: Session, rollout: Rollout, now: datetime) -> int:
    """Offer the release to the current stage's share; how many terminals were added."""
    release = releases.get(db, rollout.release)
    terms = eligible(db, rollout, release)
    wanted = terms[:max(1, math.ceil(len(terms) * rollout.stages[rollout.stage] / 100))]
    have = set(db.scalars(select(RolloutTerminal.tid).where(
        RolloutTerminal.rollout_id == rollout.id)))
    added = [t for t in wanted if t.tid not in have]
    for term in added:
        db.add(RolloutTerminal(rollout_id=rollout.id, tid=term.tid, stage=rollout.stage,
                               from_version=term.app_version, offered_at=now, updated_at=now))
    rollout.stage_started_at = now
    return len(added)


def create(db: Session, actor: Actor, data: RolloutIn) -> Rollout:
    release = releases.get(db, data.release)
    if db.scalar(select(Rollout.id).where(Rollout.release == data.release, Rollout.state.in_(
            (R.RUNNING, R.HALTED)))) is not None:
        raise Conflict(f"release {data.release} already has a rollout in progress")
    rollout = Rollout(release=release.version, target=data.target.model_dump(),
                      stages=data.stages, min_sessions=data.min_sessions,
                      max_crash_free_drop=data.max_crash_free_drop,
                      observe_minutes=data.observe_minutes, created_by=actor.name)
    db.add(rollout)
    db.flush()
    if not eligible(db, rollout, release):
        raise Invalid("target", f"no active terminal of the target is compatible with release "
                                f"{release.version}")
    _offer_stage(db, rollout, utcnow())
    audit.record(db, actor.name, "rollout.create", "rollout", str(rollout.id), None,
                 {"release": rollout.release, "target": rollout.target, "stages": data.stages})
    return rollout


def replaced(db: Session, rollout: Rollout, start: datetime | None = None) -> tuple[str, ...]:
    """The release(s) the rollout's release replaces: what its offered terminals ran before."""
    old = tuple(sorted({v for v in db.scalars(select(RolloutTerminal.from_version).where(
        RolloutTerminal.rollout_id == rollout.id)) if v and v != rollout.release}))
    if old:
        return old
    # Offered before they ever reported a version: whatever the target ran.
    population = targets.tid_select(rollout.target).scalar_subquery()
    return tuple(sorted(set(db.scalars(select(SessionCount.app_version).distinct().where(
        SessionCount.app_version != rollout.release,
        SessionCount.ts >= (start or rollout.started_at), SessionCount.tid.in_(population))))))


def rates(db: Session, rollout: Rollout, since: datetime | None = None) -> tuple[Rate, Rate]:
    """(new release, the release(s) it replaces) over the target's terminals since the start
    (or `since`)."""
    population = targets.tid_select(rollout.target).scalar_subquery()
    start = since or rollout.started_at
    old = replaced(db, rollout, start)

    def rate(versions: tuple[str, ...]) -> Rate:
        started, crashed = db.execute(select(
            func.coalesce(func.sum(SessionCount.started), 0),
            func.coalesce(func.sum(SessionCount.crashed), 0)).where(
            SessionCount.app_version.in_(versions), SessionCount.ts >= start,
            SessionCount.tid.in_(population))).one()
        return Rate(versions, int(started), int(crashed))

    return rate((rollout.release,)), rate(old) if old else Rate((), 0, 0)


def _halt_reason(rollout: Rollout, new: Rate, base: Rate) -> dict[str, Any] | None:
    if new.sessions < rollout.min_sessions or base.pct is None or new.pct is None:
        return None
    drop = round(base.pct - new.pct, 2)
    if drop <= rollout.max_crash_free_drop:
        return None
    text = (f"crash-free sessions {new.pct}% on {rollout.release} ({new.sessions} sessions, "
            f"{new.crashed} crashed) against {base.pct}% on {', '.join(base.versions)} "
            f"({base.sessions} sessions, {base.crashed} crashed): {drop} points lower, more "
            f"than the {rollout.max_crash_free_drop} allowed")
    return {"automatic": True, "text": text, "drop_points": drop, "new": new.as_dict(),
            "baseline": base.as_dict(), "max_crash_free_drop": rollout.max_crash_free_drop}


def evaluate(db: Session, rollout: Rollout, now: datetime | None = None) -> None:
    """Halt on a regression, else advance a stage (or finish) once it has observed enough."""
    if rollout.state != R.RUNNING:
        return
    now = now or utcnow()
    new, base = rates(db, rollout)
    reason = _halt_reason(rollout, new, base)
    if reason is not None:
        rollout.state, rollout.reason = R.HALTED, reason
        audit.record(db, "tms:rollout-guard", "rollout.halt", "rollout", str(rollout.id),
                     {"state": R.RUNNING}, {"state": R.HALTED, "reason": reason["text"]})
        alerts.raise_alert(db, f"rollout:{rollout.id}", "release", rollout.release,
                           TelemetryCause.ROLLOUT_HALTED, "high", [reason["text"]])
        return
    if now - rollout.stage_started_at < timedelta(minutes=rollout.observe_minutes):
        return
    if rates(db, rollout, rollout.stage_started_at)[0].sessions < rollout.min_sessions:
        return
    if rollout.stage + 1 >= len(rollout.stages):
        waiting = db.scalar(select(func.count()).where(
            RolloutTerminal.rollout_id == rollout.id,
            RolloutTerminal.state.in_((OfferState.OFFERED, OfferState.VERIFIED))))
        if not waiting:  # every terminal of the last stage has switched (or refused)
            rollout.state, rollout.ended_at = R.FINISHED, now
        return
    rollout.stage += 1
    _offer_stage(db, rollout, now)


def evaluate_running(db: Session, ctx: TmsContext, versions: set[str],
                     now: datetime | None = None) -> bool:
    """After a heartbeat that reported sessions of `versions`: the running rollouts of those
    releases (new sessions are what can halt or advance them), each at most every
    `evaluate_every_s` seconds in this process; whether any was evaluated."""
    done = False
    for rollout in db.scalars(select(Rollout).where(Rollout.state == R.RUNNING,
                                                    Rollout.release.in_(versions))):
        clock = time.monotonic()
        if clock - ctx.evaluated.get(rollout.id, -1e9) >= ctx.settings.evaluate_every_s:
            ctx.evaluated[rollout.id] = clock
            evaluate(db, rollout, now)
            done = True
    return done


def offer_for(db: Session, tid: str) -> tuple[Rollout, Release] | None:
    """The release a running rollout offers this terminal and it has not taken up yet."""
    row = db.execute(select(Rollout, Release).join(
        RolloutTerminal, RolloutTerminal.rollout_id == Rollout.id).join(
        Release, Release.version == Rollout.release).where(
        RolloutTerminal.tid == tid, RolloutTerminal.state == OfferState.OFFERED,
        Rollout.state == R.RUNNING)).first()
    return None if row is None else (row[0], row[1])


def rolled_back_for(db: Session, term: FleetTerminal) -> RolloutTerminal | None:
    """This terminal's offer of a rolled-back rollout whose release it still runs."""
    return db.scalar(select(RolloutTerminal).join(
        Rollout, Rollout.id == RolloutTerminal.rollout_id).where(
        RolloutTerminal.tid == term.tid, Rollout.state == R.ROLLED_BACK,
        Rollout.release == term.app_version,
        RolloutTerminal.state.in_((OfferState.SWITCHED, OfferState.VERIFIED))))


def record_report(db: Session, term: FleetTerminal, version: str, state: str,
                  reason: str | None, now: datetime) -> None:
    """What the terminal says it did with an offered release."""
    offer = db.scalar(select(RolloutTerminal).join(
        Rollout, Rollout.id == RolloutTerminal.rollout_id).where(
        RolloutTerminal.tid == term.tid, Rollout.release == version))
    if offer is None:
        return
    offer.state, offer.updated_at = OfferState(state), now
    if state == OfferState.REFUSED:
        alerts.raise_alert(db, f"refused:{version}", "release", version,
                           TelemetryCause.RELEASE_REFUSED, "high",
                           [f"{term.tid}: {reason or 'refused'}"])


def change(db: Session, actor: Actor, rollout_id: int, action: str) -> Rollout:
    allowed, target = TRANSITIONS[action]
    rollout = get(db, rollout_id)
    if rollout.state not in allowed:
        raise Conflict(f"rollout {rollout_id} is {rollout.state}; cannot {action}")
    before = rollout.state
    rollout.state = target
    if action == "halt":
        rollout.reason = {"automatic": False, "text": f"halted by {actor.name}"}
    if action == "resume":
        rollout.stage_started_at = utcnow()
    if action == "rollback":
        rollout.ended_at = utcnow()
    audit.record(db, actor.name, f"rollout.{action}", "rollout", str(rollout_id),
                 {"state": before}, {"state": target})
    return rollout


def counts(db: Session, rollout_id: int) -> dict[str, int]:
    rows = db.execute(select(RolloutTerminal.state, func.count()).where(
        RolloutTerminal.rollout_id == rollout_id).group_by(RolloutTerminal.state))
    by_state = {str(s): int(n) for s, n in rows}
    return {"offered": sum(by_state.values()), **{s.value: by_state.get(s.value, 0)
                                                   for s in (OfferState.VERIFIED,
                                                             OfferState.SWITCHED,
                                                             OfferState.REFUSED)}}
