"""Users: the first admin from the command line, the others by an admin."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms import audit, security
from steadypos.tms.actors import Actor
from steadypos.tms.errors import Conflict, Invalid, NotFound
from steadypos.tms.models import Merchant, Role, Token, User, utcnow
from steadypos.tms.schemas.users import UserIn


def _public(user: User) -> dict[str, object]:
    return {"username": user.username, "role": user.role, "mid": user.mid,
            "disabled": user.disabled}


def create(db: Session, actor: Actor, data: UserIn) -> User:
    if db.scalar(select(User).where(User.username == data.username)) is not None:
        raise Conflict(f"username {data.username} is taken")
    if data.mid is not None and db.get(Merchant, data.mid) is None:
        raise Invalid("mid", f"no merchant {data.mid}")
    user = User(username=data.username, password_hash=security.hash_secret(data.password),
                role=Role(data.role), mid=data.mid)
    db.add(user)
    db.flush()
    audit.record(db, actor.name, "user.create", "user", str(user.id), None, _public(user),
                 mid=user.mid)
    return user


def listing(db: Session, limit: int, offset: int) -> tuple[list[User], int]:
    total = db.scalar(select(func.count()).select_from(User)) or 0
    rows = db.scalars(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return list(rows), total


def get(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def disable(db: Session, actor: Actor, user_id: int) -> User:
    """A disabled user cannot log in; its tokens and sessions stop working at once."""
    user = get(db, user_id)
    if user.id == actor.user_id:
        raise Conflict("an admin cannot disable themselves")
    before = _public(user)
    user.disabled = True
    for token in db.scalars(select(Token).where(Token.user_id == user.id,
                                                Token.revoked_at.is_(None))):
        token.revoked_at = utcnow()
    audit.record(db, actor.name, "user.disable", "user", str(user.id), before, _public(user),
                 mid=user.mid)
    return user
