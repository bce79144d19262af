"""`/applications`: anyone applies; ops approve (a new MID) or reject (a reason)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from steadypos.tms.actors import ANONYMOUS
from steadypos.tms.deps import Db, Staff, User
from steadypos.tms.models import Application
from steadypos.tms.schemas.applications import (
    ApplicationCreated,
    ApplicationIn,
    ApplicationOut,
    Decision,
    RejectIn,
)
from steadypos.tms.schemas.common import ID_PATTERN, Page, Paging
from steadypos.tms.services import applications

router = APIRouter(prefix="/applications", tags=["applications"])
AppId = Annotated[str, Path(pattern=ID_PATTERN)]


def masked(account: str) -> str:
    return "*" * (len(account) - 4) + account[-4:]


def out(a: Application) -> ApplicationOut:
    return ApplicationOut(
        id=str(a.id), status=a.status, legal_name=a.legal_name, licence_no=a.licence_no,
        contact_name=a.contact_name, contact_phone=a.contact_phone, address=a.address,
        settlement_account=masked(a.settlement_account),
        terminals_requested=a.terminals_requested, mid=a.mid, reason=a.reason,
        submitted_at=a.submitted_at, decided_at=a.decided_at, decided_by=a.decided_by)


@router.post("", response_model=ApplicationCreated, status_code=201)
def submit(body: ApplicationIn, db: Db) -> ApplicationCreated:
    """A merchant's application (no login): validated field by field; 409 for a licence that is
    already applied for or approved."""
    app = applications.submit(db, ANONYMOUS, body)
    db.commit()
    return ApplicationCreated(id=str(app.id), status=app.status)


@router.get("", response_model=Page[ApplicationOut])
def listing(db: Db, actor: User, paging: Annotated[Paging, Depends()],
            status: Annotated[Literal["submitted", "approved", "rejected"] | None,
                              Query()] = None) -> Page[ApplicationOut]:
    rows, total = applications.listing(db, actor, status, paging.limit, paging.offset)
    return Page[ApplicationOut](items=[out(a) for a in rows], total=total)


@router.get("/{app_id}", response_model=ApplicationOut)
def one(app_id: AppId, db: Db, actor: User) -> ApplicationOut:
    return out(applications.get(db, actor, int(app_id)))


@router.post("/{app_id}/approve", response_model=Decision)
def approve(app_id: AppId, db: Db, actor: Staff) -> Decision:
    app = applications.approve(db, actor, int(app_id))
    db.commit()
    return Decision(status=app.status, mid=app.mid)


@router.post("/{app_id}/reject", response_model=Decision)
def reject(app_id: AppId, body: RejectIn, db: Db, actor: Staff) -> Decision:
    app = applications.reject(db, actor, int(app_id), body.reason)
    db.commit()
    return Decision(status=app.status, reason=app.reason)
