"""`/users` (admin): make, list, read and disable users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from steadypos.tms.deps import Admin, Db
from steadypos.tms.models import User
from steadypos.tms.schemas.common import ID_PATTERN, Page, Paging
from steadypos.tms.schemas.users import UserIn, UserOut
from steadypos.tms.services import users

router = APIRouter(prefix="/users", tags=["users"])
UserId = Annotated[str, Path(pattern=ID_PATTERN)]


def out(u: User) -> UserOut:
    return UserOut(id=str(u.id), username=u.username, role=u.role, mid=u.mid,
                   disabled=u.disabled, created_at=u.created_at)


@router.post("", response_model=UserOut, status_code=201)
def create(body: UserIn, db: Db, actor: Admin) -> UserOut:
    user = users.create(db, actor, body)
    db.commit()
    return out(user)


@router.get("", response_model=Page[UserOut])
def listing(db: Db, _: Admin, paging: Annotated[Paging, Depends()]) -> Page[UserOut]:
    rows, total = users.listing(db, paging.limit, paging.offset)
    return Page[UserOut](items=[out(u) for u in rows], total=total)


@router.get("/{user_id}", response_model=UserOut)
def one(user_id: UserId, db: Db, _: Admin) -> UserOut:
    return out(users.get(db, int(user_id)))


@router.post("/{user_id}/disable", response_model=UserOut)
def disable(user_id: UserId, db: Db, actor: Admin) -> UserOut:
    user = users.disable(db, actor, int(user_id))
    db.commit()
    return out(user)
