"""Strict field checks of pos-link-v1.1 §7: every field of a request is checked against §2 and §3,
not only parsed. Value rules per field, F48 per message type, and the fields that go together;
the first problem found is the answer (`30`). Checks against the original a request names (a
reversal's repeated fields, a void's 37/38/61) need the host's records and live in the host."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from steadypos.protocol.builders import CURRENCY, SECURITY_CONTROL
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import REVERSAL_REASONS, ReversalReason
from steadypos.protocol.fields import ENTRY_METHODS, MAX_RECORDS_PER_UPLOAD, entry_mode_problem
from steadypos.protocol.messages import MessageName, MessageType

# Requests whose F22 says how the card was read but that carry no card-read data (§3: a refund
# has no 23/55): the entry mode's needed fields are not asked for, what it forbids still is.
NO_ICC_DATA = frozenset({MessageName.REFUND})


def _digits(v: str, n: int) -> bool:
    return len(v) == n and v.isdigit()


def _month(v: str) -> bool:
    """YYMM of a month that exists."""
    return _digits(v, 4) and 1 <= int(v[2:]) <= 12


def _day(v: str) -> bool:
    """MMDD of a day that exists (29 February included)."""
    if not _digits(v, 4):
        return False
    try:
        date(2024, int(v[:2]), int(v[2:]))
    except ValueError:
        return False
    return True


def _f60(v: str) -> bool:
    """60.1 n2 + 60.2 batch n6 (not zero) + optional 60.3 n3 + whatever real terminals append."""
    return v.isdigit() and (len(v) == 8 or len(v) >= 11) and v[2:8] != "000000"


def _f61(v: str) -> bool:
    """Original batch n6 + original STAN n6 (neither zero) + optional original date MMDD."""
    return (v.isdigit() and len(v) in (12, 16) and v[:6] != "000000" and v[6:12] != "000000"
            and (len(v) == 12 or _day(v[12:])))


def _one_of(*values: str) -> Callable[[str], bool]:
    return lambda v: v in values


# Field -> (the rule, what it says). Applied to every request that carries the field.
VALUE_RULES: dict[int, tuple[Callable[[str], bool], str]] = {
    11: (lambda v: _digits(v, 6) and v != "000000", "F11 STAN must be 000001..999999"),
    14: (_month, "F14 must be a card expiry YYMM whose month exists"),
    25: (_one_of("00"), "F25 condition code must be 00"),
    26: (lambda v: _digits(v, 2) and 4 <= int(v) <= 12, "F26 PIN capture code must be 04..12"),
    49: (_one_of(CURRENCY), f"F49 currency must be {CURRENCY}"),
    53: (_one_of(SECURITY_CONTROL), f"F53 security control must be {SECURITY_CONTROL}"),
    60: (_f60, "F60 must be 60.1 (2) + batch (6, not 000000) [+ 60.3 (3) + more]"),
    61: (_f61, "F61 must be original batch (6) + STAN (6) [+ a date MMDD that exists]"),
    63: (lambda v: _digits(v, 3) and v != "000", "F63 operator number must be 001..999"),
}


_RULES_IN_ORDER = sorted(VALUE_RULES.items())


def _settle_totals(v: str) -> bool:
    """Debit and credit totals + `0`, then the foreign block: all zeros here (§3)."""
    return _digits(v, 62) and v[30] == "0" and v[31:] == "0" * 31


def _upload_records(v: str) -> bool:
    """A count of 1..8, then exactly that many 40-digit records `00` + STAN + PAN + amount."""
    if not (v.isdigit() and len(v) >= 2):
        return False
    count, body = int(v[:2]), v[2:]
    records = [body[i:i + 40] for i in range(0, len(body), 40)]
    return (1 <= count <= MAX_RECORDS_PER_UPLOAD and len(body) == 40 * count
            and all(r[:2] == "00" and r[2:8] != "000000" for r in records))


F48_RULES: dict[MessageName, tuple[Callable[[str], bool], str]] = {
    MessageName.SETTLE: (_settle_totals,
                         "F48 must be 62 digits: totals, result 0, foreign block zeros"),
    MessageName.BATCH_UPLOAD: (_upload_records, "F48 must be a count 01..08 and that many records"),
    MessageName.BATCH_UPLOAD_END: (lambda v: _digits(v, 4), "F48 must be a 4-digit total count"),
}


def _entry_mode(msg: Message, mt: MessageType) -> str | None:
    f22 = msg.get(22)
    if mt.name == MessageName.REVERSAL:
        # A reversal carries no card data (§3): only the entry mode itself is checked here;
        # that it repeats the original's is the host's check.
        known = f22[:2] in ENTRY_METHODS and f22[2:3] in ("1", "2")
        return None if known else f"F22 {f22} is not a known entry mode"
    present = set(msg.fields)
    method = ENTRY_METHODS.get(f22[:2])
    if mt.name in NO_ICC_DATA and method is not None:
        present |= method.needs
    return entry_mode_problem(f22, present)


def problem(msg: Message, mt: MessageType) -> str | None:
    """Why the request's fields break §2/§3/§7, or None when every check passes."""
    fields = msg.fields
    for n, (rule, says) in _RULES_IN_ORDER:  # field order: the first problem found is told
        value = fields.get(n)
        if value is not None and not rule(value):
            return f"{says}, got {value!r}"
    f48 = F48_RULES.get(mt.name)
    if f48 is not None and 48 in msg and not f48[0](msg.get(48)):
        return f48[1]
    if (26 in msg) != (52 in msg):
        return "F26 must be present exactly when F52 (a PIN block) is"
    if 22 in msg:
        bad = _entry_mode(msg, mt)
        if bad:
            return bad
    if mt.name == MessageName.REVERSAL and msg.get(39) not in REVERSAL_REASONS:
        *first, last = ReversalReason
        return f"reversal reason {msg.get(39)!r} is not {', '.join(first)} or {last}"
    return None
