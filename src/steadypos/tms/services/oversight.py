"""What the sweeper does each minute besides the missing-heartbeat alerts: the fleet-level
incident rules, the remedies' before/after checks, and locking terminals still below the
minimum app version after their grace period."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import TmsError
from steadypos.tms.models import utcnow
from steadypos.tms.services import fleetwatch, incidents, policies, terminals

log = logging.getLogger("steadypos.tms")
RULES = Actor("tms:rules", "admin")


def lock_outdated(db: Session, ctx: TmsContext, now: datetime) -> list[str]:
    locked = []
    for term in policies.overdue_updates(db, now):
        try:
            terminals.change(db, ctx, RULES, term.tid, "lock")
        except TmsError as exc:  # the host is busy or it changed meanwhile: next round
            db.rollback()
            log.warning("terminal %s not locked below the minimum version: %s", term.tid,
                        exc.detail)
            continue
        db.commit()
        locked.append(term.tid)
    return locked


def sweep(db: Session, ctx: TmsContext, now: datetime | None = None) -> dict[str, list[str]]:
    now = now or utcnow()
    fleet = [str(i.id) for i in fleetwatch.evaluate(db, now)]
    judged = [str(i.id) for i in incidents.check(db, now)]
    db.commit()
    return {"fleet": fleet, "judged": judged, "locked": lock_outdated(db, ctx, now)}
