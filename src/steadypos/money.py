"""Money on the command line and on screen: yuan strings in, integer fen inside."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^(0|[1-9][0-9]{0,9})(?:\.([0-9]{1,2}))?$")
MAX_FEN = 999_999_999_999  # F4 is n12


class AmountError(ValueError):
    """An amount that is not a positive number of yuan with at most two decimals."""


def parse_yuan(text: str) -> int:
    """'12.34' -> 1234 fen. Rejects signs, exponents, more than two decimals and zero."""
    m = _YUAN.match(text.strip())
    if not m:
        raise AmountError(
            f"bad amount {text!r}: expected yuan with at most two decimals, e.g. 12.34")
    fen = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    if fen <= 0:
        raise AmountError(f"bad amount {text!r}: must be more than zero")
    if fen > MAX_FEN:
        raise AmountError(f"bad amount {text!r}: too large")
    return fen


def format_fen(fen: int) -> str:
    """1234 -> '12.34'; -5 -> '-0.05'."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"
