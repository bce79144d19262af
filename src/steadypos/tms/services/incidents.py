"""Incidents: every alert joins the open incident of its `dedup_key` (or of the fleet incident
that covers its terminal), else opens one; triggered → acknowledged → resolved; MTTA and MTTR;
runbook steps ticked off; on resolve the figure the incident was opened on is measured before,
and once the same window has passed after, the remedy is judged (no better: reopened)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.errors import Conflict, Invalid, NotFound
from steadypos.tms.fleet_models import Alert
from steadypos.tms.models import utcnow
from steadypos.tms.notify_models import NotifyEvent
from steadypos.tms.ops_models import Incident, IncidentState
from steadypos.tms.services import figures, notify, runbooks

S = IncidentState
MAX_EVIDENCE = 30
# A fleet incident of a cause takes in its terminals' alerts of these causes.
FAMILY: dict[str, frozenset[str]] = {
    "network": frozenset({"network", "missing_heartbeat"}),
    "compatibility": frozenset({"software_defect", "compatibility", "outdated_software"}),
    "parameter_mismatch": frozenset({"parameter_mismatch"}),
}


def _open(db: Session, dedup_key: str) -> Incident | None:
    return db.scalar(select(Incident).where(Incident.dedup_key == dedup_key,
                                            Incident.status != S.RESOLVED,
                                            Incident.merged_into.is_(None)))


def covering(db: Session, tid: str, cause: str) -> Incident | None:
    """The open fleet incident whose terminals include `tid` and whose cause takes `cause`."""
    for inc in db.scalars(select(Incident).where(Incident.scope != "tid",
                                                 Incident.status != S.RESOLVED,
                                                 Incident.merged_into.is_(None))):
        if tid in inc.members and cause in FAMILY.get(inc.cause, frozenset({inc.cause})):
            return inc
    return None


def _add_evidence(inc: Incident, evidence: list[str]) -> None:
    inc.evidence = (inc.evidence + [e for e in evidence if e not in inc.evidence])[-MAX_EVIDENCE:]
    inc.alerts += 1
    if inc.severity != "high" and len(inc.evidence) > 1 and inc.alerts > 2:
        inc.severity = "high"  # it keeps coming back


def group(db: Session, alert: Alert, evidence: list[str]) -> Incident:
    """The incident `alert` (just raised, or raised again with `evidence`) belongs to."""
    inc = _open(db, alert.dedup_key)
    if inc is None and alert.scope == "tid":
        inc = covering(db, alert.subject, alert.cause)
    if inc is not None:
        _add_evidence(inc, evidence)
        return inc
    members = [alert.subject] if alert.scope == "tid" else []
    inc = Incident(dedup_key=alert.dedup_key, scope=alert.scope, subject=alert.subject,
                   cause=alert.cause, severity=alert.severity, mid=alert.mid,
                   evidence=list(evidence)[-MAX_EVIDENCE:], members=members, alerts=1,
                   figure=runbooks.plan(alert.cause).figure, steps_done=[],
                   opened_at=utcnow())
    db.add(inc)
    db.flush()
    notify.owe(db, inc, NotifyEvent.OPENED)
    return inc


def fold(db: Session, fleet: Incident, members: list[str]) -> int:
    """Make `fleet` the one incident of its terminals: their own open incidents of its cause
    family are merged into it (evidence kept); how many were merged."""
    fleet.members = sorted(set(fleet.members) | set(members))
    causes = FAMILY.get(fleet.cause, frozenset({fleet.cause}))
    merged = 0
    for inc in db.scalars(select(Incident).where(Incident.scope == "tid",
                                                 Incident.status != S.RESOLVED,
                                                 Incident.merged_into.is_(None))):
        if inc.subject in fleet.members and inc.cause in causes:
            inc.merged_into = fleet.id
            fleet.evidence = (fleet.evidence + [f"{inc.subject}: {e}" for e in inc.evidence[:2]]
                              )[-MAX_EVIDENCE:]
            merged += 1
    return merged


def get(db: Session, actor: Actor, incident_id: int) -> Incident:
    inc = db.get(Incident, incident_id)
    if inc is None or (actor.scope_mid is not None and inc.mid != actor.scope_mid):
        raise NotFound(f"no incident {incident_id}")
    return inc


def listing(db: Session, actor: Actor, status: str | None, cause: str | None,
            scope: str | None, limit: int, offset: int) -> tuple[list[Incident], int]:
    query = select(Incident).where(Incident.merged_into.is_(None))
    if actor.scope_mid is not None:
        query = query.where(Incident.mid == actor.scope_mid)
    for column, value in ((Incident.status, status), (Incident.cause, cause),
                          (Incident.scope, scope)):
        if value is not None:
            query = query.where(column == value)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.scalars(query.order_by(Incident.id.desc()).limit(limit).offset(offset)))
    return rows, total


def _audit(db: Session, actor: Actor, inc: Incident, action: str, before: str) -> None:
    audit.record(db, actor.name, f"incident.{action}", "incident", str(inc.id),
                 {"status": before}, {"status": inc.status, "note": inc.note}, mid=inc.mid)


def ack(db: Session, actor: Actor, incident_id: int) -> Incident:
    inc = get(db, actor, incident_id)
    if inc.status != S.TRIGGERED:
        raise Conflict(f"incident {incident_id} is {inc.status}; only a triggered one is "
                       f"acknowledged")
    inc.status, inc.acked_at, inc.acked_by = S.ACKNOWLEDGED, utcnow(), actor.name
    _audit(db, actor, inc, "ack", S.TRIGGERED)
    return inc


def resolve(db: Session, actor: Actor, incident_id: int, note: str | None,
            window_minutes: int | None = None) -> Incident:
    """Resolved (acknowledged on the way if it was not); the figure before it opened is
    measured now, the one after once `window_minutes` have passed (`check`)."""
    inc = get(db, actor, incident_id)
    if inc.status == S.RESOLVED:
        raise Conflict(f"incident {incident_id} is already resolved")
    before, now = inc.status, utcnow()
    if inc.acked_at is None:
        inc.acked_at, inc.acked_by = now, actor.name
    inc.status, inc.resolved_at, inc.resolved_by, inc.note = S.RESOLVED, now, actor.name, note
    if window_minutes is not None:
        inc.window_minutes = window_minutes
    window = timedelta(minutes=inc.window_minutes)
    inc.before = figures.measure(db, inc, inc.opened_at - window, inc.opened_at)
    inc.after, inc.verdict = None, None
    _audit(db, actor, inc, "resolve", before)
    return inc


def tick(db: Session, actor: Actor, incident_id: int, step: int, done: bool) -> Incident:
    inc = get(db, actor, incident_id)
    count = len(runbooks.steps(inc.cause))
    if not 1 <= step <= count:
        raise Invalid("step", f"the runbook of {inc.cause} has steps 1..{count}")
    ticked = set(inc.steps_done)
    inc.steps_done = sorted(ticked | {step} if done else ticked - {step})
    return inc


def check(db: Session, now: datetime | None = None) -> list[Incident]:
    """Judge every resolved incident whose after-window has passed: the figure after is
    measured; no better than before reopens it. The incidents judged."""
    now = now or utcnow()
    judged = []
    for inc in db.scalars(select(Incident).where(Incident.status == S.RESOLVED,
                                                 Incident.verdict.is_(None))):
        assert inc.resolved_at is not None
        end = inc.resolved_at + timedelta(minutes=inc.window_minutes)
        if now < end:
            continue
        inc.after = figures.measure(db, inc, inc.resolved_at, end)
        inc.verdict = figures.verdict(inc.figure, inc.before, inc.after)
        if inc.verdict == figures.Verdict.NOT_IMPROVED:
            inc.status, inc.reopened = S.TRIGGERED, inc.reopened + 1
            inc.acked_at = inc.acked_by = inc.resolved_at = inc.resolved_by = None
            inc.escalated_at = None  # reopened: unacknowledged again, escalated again
            audit.record(db, "tms:remedy-check", "incident.reopen", "incident", str(inc.id),
                         {"status": S.RESOLVED}, {"status": S.TRIGGERED, "before": inc.before,
                                                  "after": inc.after}, mid=inc.mid)
        judged.append(inc)
    return judged


class SecondsBetween(FunctionElement[float]):
    """Seconds from the second datetime column to the first, in SQL on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(SecondsBetween)
def _seconds_pg(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(SecondsBetween, "sqlite")
def _seconds_sqlite(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def _minutes(seconds: object) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)  # type: ignore[arg-type]


def stats(db: Session, actor: Actor) -> dict[str, object]:
    """MTTA and MTTR in minutes over every incident acknowledged / resolved, open counts: SQL
    aggregates (the incidents stay in the database, however many there are)."""
    where: list[ColumnElement[bool]] = [Incident.merged_into.is_(None)]
    if actor.scope_mid is not None:
        where.append(Incident.mid == actor.scope_mid)
    total, acked, mtta, resolved, mttr = db.execute(select(
        func.count(), func.count(Incident.acked_at),
        func.avg(SecondsBetween(Incident.acked_at, Incident.opened_at)),
        func.count(Incident.resolved_at),
        func.avg(SecondsBetween(Incident.resolved_at, Incident.opened_at))).where(*where)).one()
    counted: dict[str, int] = {status: n for status, n in db.execute(
        select(Incident.status, func.count()).where(*where).group_by(Incident.status))}
    return {"mtta_minutes": _minutes(mtta), "mttr_minutes": _minutes(mttr),
            "acknowledged": acked, "resolved": resolved, "total": total,
            "by_status": {s.value: counted.get(s.value, 0) for s in S}}
