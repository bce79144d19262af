"""Rules (the seed's 管理制度) per target: the fleet's, a model's, a merchant's, some TIDs';
a terminal follows the most specific value of each rule. Enforcement: a terminal below
`min_app_version` is offered the newest compatible release as mandatory and locked after the
grace period; `training_required` keeps an untrained operator in training mode."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.fleet_models import Release
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.ops_models import Policy
from steadypos.tms.services import targets

RULES = ("min_app_version", "grace_days", "maintenance_interval_days", "training_required",
         "missing_after_minutes")
SPECIFICITY = ("all", "model", "mid", "tids")


@dataclass
class Effective:
    min_app_version: str | None = None
    grace_days: int = 7
    maintenance_interval_days: int | None = None
    training_required: bool = False
    missing_after_minutes: int | None = None


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def put(db: Session, actor: Actor, target: dict[str, Any], values: dict[str, Any]) -> Policy:
    """Set the rules given for `target` (a rule not given keeps its value); audited."""
    key = json.dumps(target, sort_keys=True)
    row = db.scalar(select(Policy).where(Policy.target_key == key))
    before = None if row is None else {r: getattr(row, r) for r in RULES}
    if row is None:
        row = Policy(target_key=key, target=target, updated_by=actor.name)
        db.add(row)
    for rule, value in values.items():
        setattr(row, rule, value)
    row.updated_at, row.updated_by = utcnow(), actor.name
    db.flush()
    audit.record(db, actor.name, "policy.put", "policy", str(row.id), before,
                 {r: getattr(row, r) for r in RULES}, mid=target.get("mid"))
    return row


def listing(db: Session) -> list[Policy]:
    return list(db.scalars(select(Policy).order_by(Policy.id)))


def effective(db: Session, term: FleetTerminal, every: list[Policy] | None = None) -> Effective:
    """The rules for `term`, the most specific target's winning; `every` is the policies when
    the caller has loaded them once for many terminals."""
    rows = [p for p in (listing(db) if every is None else every)
            if targets.matches(p.target, term)]
    rows.sort(key=lambda p: SPECIFICITY.index(next(iter(p.target), "all")))
    out = Effective()
    for row in rows:
        for f in fields(out):
            value = getattr(row, f.name)
            if value is not None and (f.name != "training_required" or value):
                setattr(out, f.name, value)
    return out


def mandatory_release(db: Session, term: FleetTerminal) -> Release | None:
    """The newest release compatible with `term` when it runs below the minimum version."""
    rule = effective(db, term).min_app_version
    if rule is None or term.app_version is None or \
            version_key(term.app_version) >= version_key(rule):
        return None
    fits = [r for r in db.scalars(select(Release)) if version_key(r.version) >=
            version_key(rule) and any(_fits(c, term) for c in r.compatible)]
    return max(fits, key=lambda r: version_key(r.version), default=None)


def _fits(c: dict[str, str], term: FleetTerminal) -> bool:
    return c["brand"] == term.brand and c["model"] == term.model and \
        c["firmware"] in ("*", term.firmware)


def overdue_updates(db: Session, now: Any = None) -> list[FleetTerminal]:
    """Active terminals still below the minimum version after the grace period from when the
    rule was set: to be locked until they update."""
    now = now or utcnow()
    out = []
    active = select(FleetTerminal).where(FleetTerminal.status == TerminalState.ACTIVE)
    for term in db.scalars(active):
        rule = effective(db, term)
        if rule.min_app_version is None or term.app_version is None or \
                version_key(term.app_version) >= version_key(rule.min_app_version):
            continue
        since = max((p.updated_at for p in listing(db) if targets.matches(p.target, term)
                     and p.min_app_version), default=now)
        if now - since >= timedelta(days=rule.grace_days):
            out.append(term)
    return out
