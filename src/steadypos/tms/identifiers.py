"""Checks and makers of the identifiers onboarding deals in: the unified social credit code
(统一社会信用代码, GB 32100-2015), mainland mobile numbers, MIDs and TIDs."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from steadypos.tms.models import Sequence

# GB 32100-2015: 31 characters (no I, O, Z, S, V); weight of position i is 3**i mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
MOBILE = re.compile(r"1[3-9]\d{9}")

# MIDs: acquirer 898, then a numbering of our own that cannot meet the demo MIDs (8983...).
MID_PREFIX = "8986"
# TIDs: 8 digits from 10000001 (the demo's are T0000001..).
TID_FIRST = 10_000_001


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None when it is."""
    if len(code) != 18:
        return "must be 18 characters"
    bad = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if bad:
        return f"characters not allowed in a credit code: {''.join(bad)}"
    if not code[8:17].isalnum():
        return "organisation code is malformed"
    if uscc_check_char(code[:17]) != code[17]:
        return "check character does not match"
    return None


def mobile_problem(phone: str) -> str | None:
    if not MOBILE.fullmatch(phone):
        return "must be an 11-digit mainland mobile number (1[3-9] and 9 digits)"
    return None


def next_value(db: Session, name: str) -> int:
    """The next number of counter `name` (1, 2, ...), in the caller's transaction."""
    seq = db.get(Sequence, name, with_for_update=True)
    if seq is None:
        seq = Sequence(name=name, value=0)
        db.add(seq)
    seq.value += 1
    db.flush()
    return seq.value


def next_mid(db: Session) -> str:
    return f"{MID_PREFIX}{next_value(db, 'mid'):011d}"


def next_tid(db: Session) -> str:
    return f"{TID_FIRST - 1 + next_value(db, 'tid'):08d}"
