"""Releases: accepted only when the package's bytes match the given sha256, then signed with the
TMS's release key; a terminal whose brand/model/firmware is not listed never gets one."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Conflict, Invalid, NotFound
from steadypos.tms.fleet_models import Release, SessionCount
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.schemas.releases import DayRate, ReleaseHealth, ReleaseIn


def crash_free_pct(sessions: int, crashed: int) -> float | None:
    return None if not sessions else round(100.0 * (sessions - crashed) / sessions, 2)


def create(db: Session, ctx: TmsContext, actor: Actor, data: ReleaseIn) -> Release:
    try:
        raw = base64.b64decode(data.package, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("package", "is not base64") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != data.sha256:
        raise Invalid("sha256", f"does not match the package's bytes (their sha256 is "
                                f"{digest})")
    if db.get(Release, data.version) is not None:
        raise Conflict(f"version: release {data.version} exists")
    release = Release(version=data.version, sha256=digest, size=len(raw),
                      signature=ctx.release_key.sign(data.version, digest),
                      compatible=[c.model_dump() for c in data.compatible], notes=data.notes,
                      package=raw, created_by=actor.name)
    db.add(release)
    audit.record(db, actor.name, "release.create", "release", data.version, None,
                 {"sha256": digest, "size": len(raw), "compatible": release.compatible})
    return release


def get(db: Session, version: str) -> Release:
    release = db.get(Release, version)
    if release is None:
        raise NotFound(f"no release {version}")
    return release


def compatible(release: Release, term: FleetTerminal) -> bool:
    return any(c["brand"] == term.brand and c["model"] == term.model
               and c["firmware"] in ("*", term.firmware) for c in release.compatible)


def health(db: Session, version: str, days: int = 14,
           now: datetime | None = None) -> ReleaseHealth:
    get(db, version)
    since = (now or utcnow()) - timedelta(days=days)
    by_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for ts, started, crashed in db.execute(
            select(SessionCount.ts, SessionCount.started, SessionCount.crashed).where(
                SessionCount.app_version == version, SessionCount.ts >= since)):
        row = by_day[ts.strftime("%Y-%m-%d")]
        row[0] += started
        row[1] += crashed
    sessions = sum(r[0] for r in by_day.values())
    crashed = sum(r[1] for r in by_day.values())
    running = db.scalar(select(func.count()).where(FleetTerminal.app_version == version)) or 0
    active = db.scalar(select(func.count()).where(
        FleetTerminal.status == TerminalState.ACTIVE)) or 0
    return ReleaseHealth(
        version=version, sessions=sessions, crashed=crashed,
        crash_free_pct=crash_free_pct(sessions, crashed), terminals=running,
        adoption_pct=round(100.0 * running / active, 2) if active else 0.0,
        daily=[DayRate(day=d, sessions=s, crashed=c, crash_free_pct=crash_free_pct(s, c))
               for d, (s, c) in sorted(by_day.items())])
