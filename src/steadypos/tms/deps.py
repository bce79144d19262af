"""FastAPI dependencies: the instance, one database session per request, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from steadypos.tms.actors import TERMINAL, Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Forbidden, Unauthorized
from steadypos.tms.models import Role, TokenKind
from steadypos.tms.services import auth

TOKEN_URL = "/api/v1/auth/token"
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def context(request: Request) -> TmsContext:
    ctx: TmsContext = request.app.state.tms
    return ctx


def database(ctx: Annotated[TmsContext, Depends(context)]) -> Iterator[Session]:
    """The request's session: a router commits what it wrote; whatever is left is rolled back,
    so a request that fails half-way leaves nothing behind."""
    db = ctx.sessions()
    try:
        yield db
    finally:
        db.rollback()
        db.close()


Ctx = Annotated[TmsContext, Depends(context)]
Db = Annotated[Session, Depends(database)]


def caller(db: Db, token: Annotated[str | None, Depends(_bearer)]) -> Actor:
    """The bearer token's owner (a user or a terminal); 401 without a live token."""
    if not token:
        raise Unauthorized("not authenticated")
    actor = auth.resolve(db, token, (TokenKind.API, TokenKind.TERMINAL))
    if actor is None:
        raise Unauthorized("token unknown, expired or revoked")
    return actor


def user(actor: Annotated[Actor, Depends(caller)]) -> Actor:
    """A person (any role): terminals' tokens are for the device calls only."""
    if actor.role == TERMINAL:
        raise Forbidden("a terminal token cannot do this")
    return actor


def staff(actor: Annotated[Actor, Depends(user)]) -> Actor:
    return actor.require(Role.OPS)


def admin(actor: Annotated[Actor, Depends(user)]) -> Actor:
    return actor.require(Role.ADMIN)


User = Annotated[Actor, Depends(user)]
Staff = Annotated[Actor, Depends(staff)]
Admin = Annotated[Actor, Depends(admin)]


def device_or_staff(actor: Actor, tid: str) -> Actor:
    """The terminal `tid` itself, or ops: another terminal's token is refused (403)."""
    if actor.role == TERMINAL:
        if actor.tid != tid:
            raise Forbidden(f"this is the token of terminal {actor.tid}, not of {tid}")
        return actor
    return actor.require(Role.OPS)


Caller = Annotated[Actor, Depends(caller)]


def device(actor: Caller) -> Actor:
    """A terminal's own token (people get 403 before their body is even read)."""
    if actor.role != TERMINAL:
        raise Forbidden("only a terminal's own token may send this")
    return actor


Device = Annotated[Actor, Depends(device)]
