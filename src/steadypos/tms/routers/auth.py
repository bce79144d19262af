"""`/auth`: OAuth2 password login for bearer tokens, logout, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from steadypos.tms.actors import Actor
from steadypos.tms.deps import Ctx, Db, User, caller
from steadypos.tms.errors import TmsError
from steadypos.tms.models import TokenKind
from steadypos.tms.schemas.users import TokenOut
from steadypos.tms.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


class Me(BaseModel):
    name: str
    role: str
    mid: str | None


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/token", response_model=TokenOut)
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: Db,
          ctx: Ctx) -> TokenOut:
    """A bearer token for `username` and `password` (OAuth2 password form); expires after the
    instance's token lifetime, revoked by `POST /auth/logout`."""
    try:
        user = auth.check_password(db, ctx.settings, form.username, form.password,
                                   client_of(request))
    except TmsError:
        db.commit()  # the failure counts toward the throttle
        raise
    clear, row = auth.issue(db, user, TokenKind.API, ctx.settings.token_ttl)
    db.commit()
    assert row.expires_at is not None
    return TokenOut(access_token=clear, expires_at=row.expires_at)


@router.post("/logout", status_code=204)
def logout(request: Request, db: Db, _: Annotated[Actor, Depends(caller)]) -> None:
    """Revoke the bearer token of this request."""
    auth.revoke(db, request.headers.get("authorization", "").partition(" ")[2])
    db.commit()


@router.get("/me", response_model=Me)
def me(actor: User) -> Me:
    return Me(name=actor.name, role=actor.role, mid=actor.mid)
