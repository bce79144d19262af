"""The figures a remedy is checked on, for an incident's scope over a window: crashed sessions
per day and the crash-free rate (from heartbeats' session counts), flash-exit episodes per day
and parameter mismatches (from diagnosed uploads), terminals that went missing (from alerts)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms.fleet_models import Alert, LogUpload, SessionCount
from steadypos.tms.models import FleetTerminal
from steadypos.tms.ops_models import Incident
from steadypos.tms.services.runbooks import Figure


class Verdict(StrEnum):
    IMPROVED = "improved"
    NOT_IMPROVED = "not_improved"


def terminals(db: Session, inc: Incident) -> list[str] | None:
    """The TIDs of the incident's scope; None for a release (every terminal running it)."""
    if inc.scope == "tid":
        return [inc.subject]
    if inc.scope == "mid":
        return list(db.scalars(select(FleetTerminal.tid).where(FleetTerminal.mid == inc.subject)))
    if inc.scope == "model":
        brand, _, model = inc.subject.partition(" ")
        return list(db.scalars(select(FleetTerminal.tid).where(FleetTerminal.brand == brand,
                                                          FleetTerminal.model == model)))
    if inc.scope == "release":
        return None
    return list(inc.members)


def _sessions(db: Session, inc: Incident, start: datetime, end: datetime) -> tuple[int, int]:
    query = select(func.coalesce(func.sum(SessionCount.started), 0),
                   func.coalesce(func.sum(SessionCount.crashed), 0)).where(
        SessionCount.ts >= start, SessionCount.ts < end)
    tids = terminals(db, inc)
    if tids is None:
        query = query.where(SessionCount.app_version == inc.subject)
    else:
        query = query.where(SessionCount.tid.in_(tids))
    started, crashed = db.execute(query).one()
    return int(started), int(crashed)


def _episodes(db: Session, tids: list[str], start: datetime, end: datetime,
              cause: str | None) -> int:
    """Flash-exit episodes of the uploads received in [start, end) (of `cause` only, if given)."""
    query = select(func.coalesce(func.sum(LogUpload.episodes), 0)).where(
        LogUpload.tid.in_(tids), LogUpload.received_at >= start, LogUpload.received_at < end)
    if cause is not None:
        query = query.where(LogUpload.cause == cause)
    return int(db.scalar(query) or 0)


def measure(db: Session, inc: Incident, start: datetime, end: datetime) -> float | None:
    """The incident's figure over [start, end); None where nothing was measured."""
    days = max((end - start).total_seconds() / 86400, 1e-9)
    if inc.figure == Figure.CRASHES_PER_DAY:
        return round(_sessions(db, inc, start, end)[1] / days, 2)
    if inc.figure == Figure.CRASH_FREE_RATE:
        started, crashed = _sessions(db, inc, start, end)
        return round(100 * (1 - crashed / started), 2) if started else None
    tids = terminals(db, inc) or []
    if inc.figure == Figure.EPISODES_PER_DAY:
        return round(_episodes(db, tids, start, end, None) / days, 2)
    if inc.figure == Figure.MISMATCHES:
        return float(_episodes(db, tids, start, end, "parameter_mismatch"))
    return float(db.scalar(select(func.count(func.distinct(Alert.subject))).where(
        Alert.scope == "tid", Alert.subject.in_(tids), Alert.cause == "missing_heartbeat",
        Alert.raised_at >= start, Alert.raised_at < end)) or 0)


def verdict(figure: str, before: float | None, after: float | None) -> Verdict:
    """Improved when the figure after is better than before (or was and stays at its best);
    nothing measured after (no sessions at all) is no proof of a remedy."""
    if after is None:
        return Verdict.NOT_IMPROVED
    if figure == Figure.CRASH_FREE_RATE:
        best, better = 100.0, before is None or after > before
    else:
        best, better = 0.0, before is None or after < before
    return Verdict.IMPROVED if better or after == before == best else Verdict.NOT_IMPROVED
