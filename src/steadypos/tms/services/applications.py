"""The seed's "apply → verify": a merchant applies, ops approve (a new MID) or reject (a reason)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.errors import Conflict, NotFound
from steadypos.tms.identifiers import next_mid
from steadypos.tms.models import Application, ApplicationStatus, Merchant, utcnow
from steadypos.tms.schemas.applications import ApplicationIn

_LIVE = (ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED)


def _state(app: Application) -> dict[str, object]:
    return {"status": app.status, "mid": app.mid, "reason": app.reason}


def submit(db: Session, actor: Actor, data: ApplicationIn) -> Application:
    """409 when the licence is already applied for or approved (a rejected one may reapply)."""
    taken = db.scalar(select(Application.id).where(Application.licence_no == data.licence_no,
                                                   Application.status.in_(_LIVE)))
    if taken is not None:
        raise Conflict(f"licence_no: {data.licence_no} is already applied for or approved "
                       f"(application {taken})")
    app = Application(**data.model_dump())
    db.add(app)
    db.flush()
    audit.record(db, actor.name, "application.submit", "application", str(app.id), None,
                 {"status": app.status, "legal_name": app.legal_name,
                  "licence_no": app.licence_no})
    return app


def listing(db: Session, actor: Actor, status: str | None, limit: int,
            offset: int) -> tuple[list[Application], int]:
    query = select(Application)
    if status:
        query = query.where(Application.status == status)
    if actor.scope_mid is not None:
        query = query.where(Application.mid == actor.scope_mid)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(Application.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def get(db: Session, actor: Actor, app_id: int) -> Application:
    app = db.get(Application, app_id)
    if app is None or (actor.scope_mid is not None and app.mid != actor.scope_mid):
        raise NotFound(f"no application {app_id}")
    return app


def _decidable(db: Session, actor: Actor, app_id: int) -> Application:
    app = get(db, actor, app_id)
    if app.status != ApplicationStatus.SUBMITTED:
        raise Conflict(f"application {app_id} is already {app.status}")
    return app


def approve(db: Session, actor: Actor, app_id: int) -> Application:
    """A new merchant with a new 15-digit MID."""
    app = _decidable(db, actor, app_id)
    if db.scalar(select(Merchant.mid).where(Merchant.licence_no == app.licence_no)):
        raise Conflict(f"licence_no: {app.licence_no} already belongs to a merchant")
    before = _state(app)
    mid = next_mid(db)
    db.add(Merchant(mid=mid, legal_name=app.legal_name, licence_no=app.licence_no,
                    contact_name=app.contact_name, contact_phone=app.contact_phone,
                    address=app.address, settlement_account=app.settlement_account,
                    application_id=app.id))
    app.status, app.mid = ApplicationStatus.APPROVED, mid
    app.decided_at, app.decided_by = utcnow(), actor.name
    audit.record(db, actor.name, "application.approve", "application", str(app.id), before,
                 _state(app), mid=mid)
    return app


def reject(db: Session, actor: Actor, app_id: int, reason: str) -> Application:
    app = _decidable(db, actor, app_id)
    before = _state(app)
    app.status, app.reason = ApplicationStatus.REJECTED, reason
    app.decided_at, app.decided_by = utcnow(), actor.name
    audit.record(db, actor.name, "application.reject", "application", str(app.id), before,
                 _state(app))
    return app


def merchants(db: Session, actor: Actor, limit: int, offset: int) -> tuple[list[Merchant], int]:
    query = select(Merchant)
    if actor.scope_mid is not None:
        query = query.where(Merchant.mid == actor.scope_mid)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(Merchant.mid).limit(limit).offset(offset)).all()
    return list(rows), total


def merchant(db: Session, actor: Actor, mid: str) -> Merchant:
    found = db.get(Merchant, mid)
    if found is None or not actor.sees(mid):
        raise NotFound(f"no merchant {mid}")
    return found
