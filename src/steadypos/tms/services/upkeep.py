"""Maintenance and training: done and scheduled maintenance per terminal, the due list (last
maintenance older than the rules' interval, default 180 days), training records by hand, from
training mode and assigned from incidents, and the gaps (operators with errors, no training)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.errors import Invalid
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.ops_models import MaintenanceRecord, OperatorError, TrainingRecord
from steadypos.tms.services import policies, terminals

DEFAULT_INTERVAL_DAYS = 180
CHECKLIST = ("cleaning", "cables", "worn_parts", "print_head", "reader")


def record_maintenance(db: Session, actor: Actor, tid: str, kind: str,
                       checklist: dict[str, bool], note: str,
                       incident_id: int | None = None) -> MaintenanceRecord:
    """Maintenance done now on `tid` (its checklist names only the known items)."""
    term = terminals.get(db, actor, tid)
    unknown = sorted(set(checklist) - set(CHECKLIST))
    if unknown:
        raise Invalid("checklist", f"unknown items {', '.join(unknown)}; known: "
                                   f"{', '.join(CHECKLIST)}")
    row = MaintenanceRecord(tid=term.tid, kind=kind, checklist=checklist, note=note,
                            incident_id=incident_id, done_at=utcnow(), by=actor.name)
    db.add(row)
    db.flush()
    audit.record(db, actor.name, "maintenance.done", "terminal", term.tid, None,
                 {"kind": kind, "checklist": checklist}, mid=term.mid)
    return row


def schedule(db: Session, actor: Actor, tid: str, kind: str, when: datetime,
             incident_id: int | None) -> MaintenanceRecord:
    term = terminals.get(db, actor, tid)
    row = MaintenanceRecord(tid=term.tid, kind=kind, checklist={}, note="",
                            incident_id=incident_id, scheduled_for=when, by=actor.name)
    db.add(row)
    db.flush()
    audit.record(db, actor.name, "maintenance.schedule", "terminal", term.tid, None,
                 {"kind": kind, "scheduled_for": when.isoformat()}, mid=term.mid)
    return row


def last_done(db: Session) -> dict[str, datetime]:
    return {tid: at for tid, at in db.execute(
        select(MaintenanceRecord.tid, func.max(MaintenanceRecord.done_at))
        .where(MaintenanceRecord.done_at.is_not(None)).group_by(MaintenanceRecord.tid))
        if at is not None}


def due(db: Session, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
    """Active terminals whose last maintenance (or activation) is older than their interval;
    `overdue_days` past it, most overdue first."""
    now = now or utcnow()
    done = last_done(db)
    every = policies.listing(db)  # once, not once per terminal
    rows = []
    query = select(FleetTerminal).where(FleetTerminal.status == TerminalState.ACTIVE)
    if actor.scope_mid is not None:
        query = query.where(FleetTerminal.mid == actor.scope_mid)
    for term in db.scalars(query):
        interval = policies.effective(db, term, every).maintenance_interval_days or \
            DEFAULT_INTERVAL_DAYS
        last = done.get(term.tid)
        since = last or term.activated_at or term.created_at
        if now - since < timedelta(days=interval):
            continue
        rows.append({"tid": term.tid, "mid": term.mid, "last_maintenance": last,
                     "interval_days": interval,
                     "overdue_days": (now - since).days - interval})
    return sorted(rows, key=lambda r: (-r["overdue_days"], r["tid"]))


def record_training(db: Session, actor: Actor, operator: str, tid: str | None,
                    mid: str | None, course: str, score: int | None, source: str,
                    incident_id: int | None = None, done: bool = True) -> TrainingRecord:
    if tid is not None:
        mid = terminals.get(db, actor, tid).mid
    if mid is None:
        raise Invalid("tid", "a training record names a tid or a mid")
    if not actor.sees(mid):
        raise Invalid("mid", f"merchant {mid} is not yours")
    row = TrainingRecord(operator=operator, tid=tid, mid=mid, course=course, score=score,
                         source=source, incident_id=incident_id,
                         done_at=utcnow() if done else None, by=actor.name)
    db.add(row)
    db.flush()
    audit.record(db, actor.name, f"training.{'record' if done else 'assign'}", "training",
                 str(row.id), None, {"operator": operator, "course": course}, mid=mid)
    return row


def trained(db: Session, operator: str, mid: str) -> bool:
    return (db.scalar(select(func.count()).where(
        TrainingRecord.operator == operator, TrainingRecord.mid == mid,
        TrainingRecord.done_at.is_not(None))) or 0) > 0


def gaps(db: Session, actor: Actor) -> list[dict[str, Any]]:
    """Operators with operator errors (from diagnosed logs) and no training record done."""
    query = select(OperatorError.operator, OperatorError.mid, func.count(),
                   func.max(OperatorError.at)).group_by(OperatorError.operator,
                                                       OperatorError.mid)
    if actor.scope_mid is not None:
        query = query.where(OperatorError.mid == actor.scope_mid)
    return [{"operator": op, "mid": mid, "errors": n, "last_error_at": at}
            for op, mid, n, at in db.execute(query.order_by(OperatorError.operator))
            if not trained(db, op, mid)]
