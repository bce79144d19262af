"""Logging in and out: throttled password checks, expiring and revocable tokens and sessions,
and who a token belongs to."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms import security
from steadypos.tms.actors import TERMINAL, Actor
from steadypos.tms.errors import Throttled, Unauthorized
from steadypos.tms.models import LoginThrottle, Token, TokenKind, User, utcnow
from steadypos.tms.settings import Settings


def _throttle_row(db: Session, key: str) -> LoginThrottle:
    row = db.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        db.add(row)
    return row


def check_password(db: Session, settings: Settings, username: str, password: str,
                   client: str) -> User:
    """The user, or 401 (429 while the username is locked for this client). A failure is
    counted in the same transaction, which the caller commits either way."""
    row = _throttle_row(db, security.digest(f"{username.lower()}\x1f{client}"))
    now = utcnow()
    if row.locked_until is not None and row.locked_until > now:
        wait = int((row.locked_until - now).total_seconds()) + 1
        raise Throttled(f"too many failed logins; try again in {wait} s",
                        {"Retry-After": str(wait)})
    plausible = 0 < len(username) <= 64 and username.isprintable()  # no NUL to PostgreSQL
    user = db.scalar(select(User).where(User.username == username)) if plausible else None
    ok = security.verify_secret(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled:
        row.failures += 1
        if row.failures >= settings.max_failures:
            row.locked_until = now + settings.lockout
            row.failures = 0
        raise Unauthorized("wrong username or password")
    row.failures, row.locked_until = 0, None
    return user


def issue(db: Session, user: User, kind: TokenKind, ttl: timedelta) -> tuple[str, Token]:
    """A new token for `user` (its clear text is returned once; the table keeps a digest)."""
    clear = security.new_token()
    row = Token(digest=security.digest(clear), kind=kind, user_id=user.id,
                expires_at=utcnow() + ttl,
                csrf=security.new_token() if kind == TokenKind.SESSION else None)
    db.add(row)
    return clear, row


def issue_terminal(db: Session, tid: str) -> str:
    """A terminal's token from its activation; older tokens of that TID stop working."""
    for old in db.scalars(select(Token).where(Token.tid == tid, Token.revoked_at.is_(None))):
        old.revoked_at = utcnow()
    clear = security.new_token()
    db.add(Token(digest=security.digest(clear), kind=TokenKind.TERMINAL, tid=tid))
    return clear


def revoke(db: Session, clear: str) -> None:
    row = db.get(Token, security.digest(clear))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def resolve(db: Session, clear: str, kinds: tuple[TokenKind, ...],
            now: datetime | None = None) -> Actor | None:
    """Who `clear` belongs to, if it is a live token of one of `kinds`."""
    row = db.get(Token, security.digest(clear))
    now = now or utcnow()
    if row is None or row.kind not in kinds or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.kind == TokenKind.TERMINAL:
        return Actor(f"terminal:{row.tid}", TERMINAL, tid=row.tid)
    user = db.get(User, row.user_id) if row.user_id is not None else None
    if user is None or user.disabled:
        return None
    return Actor(f"user:{user.username}", user.role, user.id, user.mid, csrf=row.csrf)
