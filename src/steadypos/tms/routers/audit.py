"""`/audit`: who changed what, when, before and after (a merchant user: its own records)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from steadypos.tms.deps import Db, User
from steadypos.tms.models import AuditEntry
from steadypos.tms.schemas.audit import AuditOut
from steadypos.tms.schemas.common import Page, Paging

router = APIRouter(prefix="/audit", tags=["audit"])


def out(e: AuditEntry) -> AuditOut:
    return AuditOut(id=str(e.id), at=e.at, actor=e.actor, action=e.action, entity=e.entity,
                    entity_id=e.entity_id, mid=e.mid, before=e.before, after=e.after)


@router.get("", response_model=Page[AuditOut])
def listing(db: Db, actor: User, paging: Annotated[Paging, Depends()],
            entity: Annotated[str | None, Query(pattern=r"^[a-z_]{1,20}$")] = None,
            entity_id: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_-]{1,40}$")] = None,
            ) -> Page[AuditOut]:
    """Newest first; filter by `entity` (application, terminal, user) and `entity_id`."""
    query = select(AuditEntry)
    if actor.scope_mid is not None:
        query = query.where(AuditEntry.mid == actor.scope_mid)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(AuditEntry.id.desc()).limit(paging.limit)
                      .offset(paging.offset))
    return Page[AuditOut](items=[out(e) for e in rows], total=total)
