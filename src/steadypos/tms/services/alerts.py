"""Alerts: one open alert per `dedup_key` (a second raise adds to its evidence), cleared when
its condition ends. Every raise joins an incident (services/incidents)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms.actors import Actor
from steadypos.tms.fleet_models import Alert
from steadypos.tms.models import utcnow
from steadypos.tms.services import incidents
from steadypos.tms.services.runbooks import TelemetryCause

__all__ = ["TelemetryCause", "clear", "listing", "open_alert", "raise_alert"]

MAX_EVIDENCE = 20


def open_alert(db: Session, dedup_key: str) -> Alert | None:
    return db.scalar(select(Alert).where(Alert.dedup_key == dedup_key,
                                         Alert.cleared_at.is_(None)))


def raise_alert(db: Session, dedup_key: str, scope: str, subject: str, cause: str,
                severity: str, evidence: list[str], mid: str | None = None) -> Alert:
    alert = open_alert(db, dedup_key)
    if alert is not None:
        alert.evidence = (alert.evidence + [e for e in evidence
                                            if e not in alert.evidence])[-MAX_EVIDENCE:]
    else:
        alert = Alert(dedup_key=dedup_key, scope=scope, subject=subject, cause=cause,
                      severity=severity, evidence=evidence[-MAX_EVIDENCE:], mid=mid)
        db.add(alert)
        db.flush()
    incidents.group(db, alert, evidence)
    return alert


def clear(db: Session, dedup_key: str) -> None:
    alert = open_alert(db, dedup_key)
    if alert is not None:
        alert.cleared_at = utcnow()


def listing(db: Session, actor: Actor, include_cleared: bool, tid: str | None, limit: int,
            offset: int) -> tuple[list[Alert], int]:
    query = select(Alert)
    if not include_cleared:
        query = query.where(Alert.cleared_at.is_(None))
    if actor.scope_mid is not None:
        query = query.where(Alert.mid == actor.scope_mid)
    if tid is not None:
        query = query.where(Alert.scope == "tid", Alert.subject == tid)
    rows = list(db.scalars(query.order_by(Alert.id.desc())))
    return rows[offset:offset + limit], len(rows)
