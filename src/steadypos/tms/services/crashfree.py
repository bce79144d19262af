"""Crash-free session rate over time of a rollout's release and of the release(s) it replaces,
over the rollout's target terminals since it began: the series the releases page plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms.fleet_models import Rollout, SessionCount
from steadypos.tms.models import utcnow
from steadypos.tms.services import releases, rollouts, targets

POINTS = 24  # buckets across the rollout's window
MIN_BUCKET = timedelta(minutes=1)


@dataclass(frozen=True)
class Point:
    at: datetime  # the bucket's start
    sessions: int
    crashed: int

    @property
    def pct(self) -> float | None:
        return releases.crash_free_pct(self.sessions, self.crashed)


@dataclass
class Series:
    versions: tuple[str, ...]
    points: list[Point] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ", ".join(self.versions) or "—"


def bucket_width(start: datetime, end: datetime) -> timedelta:
    """Whole minutes, wide enough that the window fits in POINTS buckets."""
    minutes = -(-(end - start) // (MIN_BUCKET * POINTS))  # ceiling division
    return MIN_BUCKET * max(1, minutes)


def series(db: Session, rollout: Rollout, now: datetime | None = None) -> tuple[Series, Series]:
    """(new release, the release(s) it replaces): sessions and crashes per bucket."""
    start = rollout.started_at
    end = rollout.ended_at or now or utcnow()
    width = bucket_width(start, max(end, start + MIN_BUCKET))
    new, old = Series((rollout.release,)), Series(rollouts.replaced(db, rollout))
    which = {v: new for v in new.versions} | {v: old for v in old.versions}
    sums: dict[tuple[int, int], list[int]] = {}
    population = targets.tid_select(rollout.target).scalar_subquery()
    for ts, version, started, crashed in db.execute(select(
            SessionCount.ts, SessionCount.app_version, SessionCount.started,
            SessionCount.crashed).where(SessionCount.app_version.in_(list(which)),
                                        SessionCount.ts >= start,
                                        SessionCount.tid.in_(population))):
        key = (id(which[version]), (ts - start) // width)
        row = sums.setdefault(key, [0, 0])
        row[0] += started
        row[1] += crashed
    for line in (new, old):
        line.points = [Point(start + width * n, s, c) for (owner, n), (s, c)
                       in sorted(sums.items(), key=lambda kv: kv[0][1]) if owner == id(line)]
    return new, old
