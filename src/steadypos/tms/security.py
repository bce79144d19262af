"""Secrets of the TMS's users and devices: argon2 password and activation-code hashes, random
tokens kept only as their sha256, CSRF values for the pages' forms."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when a user does not exist costs the same time as a real check, so the
# answer's timing does not tell which usernames exist.
_DUMMY = _hasher.hash("steadypos: no such user")

# No 0/O or 1/I/L: a code is read off a delivery note and typed on a terminal.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_activation_code() -> str:
    """16 characters (about 79 bits) in groups of four: `ABCD-EFGH-JKMN-PQRS`."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str:
    """What the user typed, the way it was hashed: upper case, dashes where we put them."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
