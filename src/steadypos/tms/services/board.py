"""The fleet board's figures: terminals by status, open incidents by cause and by severity,
MTTA/MTTR, crash-free sessions by release and by brand/model over a window, maintenance overdue
and training gaps; counted in SQL, each as the actor may see it (a merchant: its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from steadypos.tms.actors import Actor
from steadypos.tms.fleet_models import SessionCount
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.ops_models import Incident, IncidentState, Severity
from steadypos.tms.services import incidents, policies, releases, upkeep

WINDOW_DAYS = 14  # as a release's health on the releases page


@dataclass(frozen=True)
class CrashFree:
    """Crash-free sessions of one release, or of one brand/model (`name` "PAX A920")."""

    name: str
    sessions: int
    crashed: int

    @property
    def pct(self) -> float | None:
        return releases.crash_free_pct(self.sessions, self.crashed)


@dataclass(frozen=True)
class Board:
    terminals: dict[str, int]  # every terminal state, in the life cycle's order
    open_by_cause: dict[str, int]  # most first
    open_by_severity: dict[str, int]  # high, low
    stats: dict[str, Any]  # incidents.stats: MTTA/MTTR in minutes, how many each
    by_release: list[CrashFree]  # oldest version first
    by_model: list[CrashFree]
    overdue: list[dict[str, Any]]  # upkeep.due
    gaps: list[dict[str, Any]]  # upkeep.gaps
    window_days: int


def terminals_by_status(db: Session, actor: Actor) -> dict[str, int]:
    query = select(FleetTerminal.status, func.count()).group_by(FleetTerminal.status)
    if actor.scope_mid is not None:
        query = query.where(FleetTerminal.mid == actor.scope_mid)
    counted: dict[str, int] = {status: n for status, n in db.execute(query)}
    return {s.value: counted.get(s.value, 0) for s in TerminalState}


def open_incidents(db: Session, actor: Actor, column: Any) -> dict[str, int]:
    """Open incidents (not resolved, not merged into a fleet incident) counted by `column`."""
    query = select(column, func.count()).where(
        Incident.status != IncidentState.RESOLVED, Incident.merged_into.is_(None)
    ).group_by(column)
    if actor.scope_mid is not None:
        query = query.where(Incident.mid == actor.scope_mid)
    rows: list[tuple[str, int]] = [(key, n) for key, n in db.execute(query)]
    return dict(sorted(rows, key=lambda kv: (-kv[1], kv[0])))


def _sessions(actor: Actor, since: datetime, *group: Any) -> Select[Any]:
    where: list[ColumnElement[bool]] = [SessionCount.ts >= since]
    if actor.scope_mid is not None:
        where.append(SessionCount.tid.in_(select(FleetTerminal.tid).where(
            FleetTerminal.mid == actor.scope_mid)))
    return select(*group, func.sum(SessionCount.started), func.sum(SessionCount.crashed)
                  ).where(*where).group_by(*group)


def crash_free_by_release(db: Session, actor: Actor, since: datetime) -> list[CrashFree]:
    rates = [CrashFree(version, int(s), int(c)) for version, s, c in
             db.execute(_sessions(actor, since, SessionCount.app_version))]
    return sorted(rates, key=lambda r: (policies.version_key(r.name), r.name))


def crash_free_by_model(db: Session, actor: Actor, since: datetime) -> list[CrashFree]:
    query = _sessions(actor, since, FleetTerminal.brand, FleetTerminal.model).join(
        FleetTerminal, FleetTerminal.tid == SessionCount.tid)
    return sorted((CrashFree(f"{brand} {model}", int(s), int(c))
                   for brand, model, s, c in db.execute(query)), key=lambda r: r.name)


def gather(db: Session, actor: Actor, now: datetime | None = None,
           days: int = WINDOW_DAYS) -> Board:
    """Everything the board shows, crash-free rates over the last `days` days."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    severity = open_incidents(db, actor, Incident.severity)
    return Board(terminals=terminals_by_status(db, actor),
                 open_by_cause=open_incidents(db, actor, Incident.cause),
                 open_by_severity={s.value: severity.get(s.value, 0) for s in Severity},
                 stats=incidents.stats(db, actor),
                 by_release=crash_free_by_release(db, actor, since),
                 by_model=crash_free_by_model(db, actor, since),
                 overdue=upkeep.due(db, actor, now), gaps=upkeep.gaps(db, actor),
                 window_days=days)
