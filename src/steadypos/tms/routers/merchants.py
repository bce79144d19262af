"""`/merchants`: the merchants approval made; a merchant user sees only its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import func, select

from steadypos.tms.deps import Db, User
from steadypos.tms.models import FleetTerminal, Merchant
from steadypos.tms.routers.applications import masked
from steadypos.tms.schemas.common import MID_PATTERN, Page, Paging
from steadypos.tms.schemas.merchants import MerchantOut
from steadypos.tms.services import applications

router = APIRouter(prefix="/merchants", tags=["merchants"])


def out(db: Db, m: Merchant) -> MerchantOut:
    count = db.scalar(select(func.count()).where(FleetTerminal.mid == m.mid)) or 0
    return MerchantOut(mid=m.mid, legal_name=m.legal_name, licence_no=m.licence_no,
                       contact_name=m.contact_name, contact_phone=m.contact_phone,
                       address=m.address, settlement_account=masked(m.settlement_account),
                       application_id=str(m.application_id), terminals=count,
                       created_at=m.created_at)


@router.get("", response_model=Page[MerchantOut])
def listing(db: Db, actor: User, paging: Annotated[Paging, Depends()]) -> Page[MerchantOut]:
    rows, total = applications.merchants(db, actor, paging.limit, paging.offset)
    return Page[MerchantOut](items=[out(db, m) for m in rows], total=total)


@router.get("/{mid}", response_model=MerchantOut)
def one(mid: Annotated[str, Path(pattern=MID_PATTERN)], db: Db, actor: User) -> MerchantOut:
    return out(db, applications.merchant(db, actor, mid))
