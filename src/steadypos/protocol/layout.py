"""The profile's fixed layout (spec.py) compiled into one plain encoder and one plain decoder of
well-formed bodies: what pyiso8583 does for this one spec, without its per-field dictionaries.
Either gives up (None) on anything it is not sure of; codec.py then asks pyiso8583, which stays
the reference and says what is wrong. tests/protocol/test_protocol_layout.py checks that both give
the same bytes, the same fields and the same errors for every message type."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from steadypos.protocol.spec import FIELDS

_HEX = re.compile(r"[0-9A-F]*")
_MTI = re.compile(r"0[1-9][0-9]0")


def _digits(v: str) -> bool:
    return not v or (v.isascii() and v.isdigit())


# Whether a value has only the characters of its content class: codec.py's checks (the same
# sets: n 0-9, z 0-9 and D, ans 0x20-0x7E, b 0-9 A-F), in str methods where they are faster.
_GOOD: dict[str, Callable[[str], bool]] = {
    "n": _digits,
    "z": lambda v: _digits(v.replace("D", "")),
    "ans": lambda v: v.isascii() and v.isprintable(),
    "b": lambda v: _HEX.fullmatch(v) is not None,
}
_BITMAP_BYTES = 8
_BODY_START = 2 + _BITMAP_BYTES  # MTI (BCD, 2 bytes) and the primary bitmap


@dataclass(frozen=True)
class _Slot:
    """One field as the wire has it: its bit, its length prefix, how its data is written."""

    number: int
    bit: int  # the field's bit in the 64-bit primary bitmap
    prefix: int  # bytes of BCD length: 0 (fixed), 1 (LLVAR), 2 (LLLVAR)
    max_len: int  # nibbles (n, z) or bytes (b, ans)
    nibbles: bool
    text: bool  # ans: ASCII; otherwise hex digits packed two to a byte
    good: Callable[[str], bool]


SLOTS: tuple[_Slot, ...] = tuple(sorted(
    (_Slot(f.number, 1 << (64 - f.number), {"fixed": 0, "LLVAR": 1, "LLLVAR": 2}[f.length],
           f.max_len, f.content in ("n", "z"), f.content == "ans", _GOOD[f.content])
     for f in FIELDS), key=lambda s: s.number))
BY_NUMBER = {s.number: s for s in SLOTS}
# Bits outside the profile, and bit 1 (a secondary bitmap): never in a body this decoder reads.
_FOREIGN = ((1 << 64) - 1) & ~sum(s.bit for s in SLOTS) | 1 << 63


# The decoder's content check of a value it read: hex output is already ASCII uppercase hex,
# decoded text already ASCII, so what remains is a str method (None: nothing left to check).
_READ_GOOD: dict[str, Callable[[str], bool] | None] = {
    "n": str.isdigit,  # never empty here: an empty value is taken before the check
    "z": _GOOD["z"],
    "ans": str.isprintable,
    "b": None,
}
# What a decoder needs of a slot, as a tuple: number, prefix, max_len, nibbles, text, check.
_Read = tuple[int, int, int, bool, bool, "Callable[[str], bool] | None"]
_READS: dict[int, _Read] = {
    s.number: (s.number, s.prefix, s.max_len, s.nibbles, s.text,
               _READ_GOOD[next(f.content for f in FIELDS if f.number == s.number)])
    for s in SLOTS}
# Per bitmap, the slots it sets in field order: bodies of one message type share one bitmap.
_PLANS: dict[int, tuple[_Read, ...]] = {}
_MAX_PLANS = 1024
# The BCD length prefixes, by prefix size and length: "0042" -> b"\x00\x42".
_PREFIXES = {size: [binascii.a2b_hex(f"{n:0{2 * size}d}") for n in range(10 ** (2 * size))]
             for size in (1, 2)}


def _plan(bitmap: int) -> tuple[_Read, ...]:
    plan = _PLANS.get(bitmap)
    if plan is None:
        plan = tuple(_READS[s.number] for s in SLOTS if bitmap & s.bit)
        if len(_PLANS) < _MAX_PLANS:
            _PLANS[bitmap] = plan
    return plan


# What an encoder needs of a slot, as a tuple: bit, prefix, max_len, how its data is written
# (_TEXT ASCII, _NIBBLES BCD right-padded with 0, _BYTES hex two digits a byte), check.
_TEXT, _NIBBLES, _BYTES = 0, 1, 2
_WRITES: dict[int, tuple[int, int, int, int, Callable[[str], bool]]] = {
    s.number: (s.bit, s.prefix, s.max_len, _TEXT if s.text else _NIBBLES if s.nibbles else _BYTES,
               s.good) for s in SLOTS}


def encode(mti: str, fields: dict[int, str]) -> bytes | None:
    """MTI + bitmap + fields of a message of the profile's MTIs, fields and characters whose
    every field fits its layout; None for anything else (codec.py then names the problem)."""
    if not isinstance(mti, str) or _MTI.fullmatch(mti) is None:
        return None
    bitmap = 0
    parts = [b""]
    append = parts.append
    a2b = binascii.a2b_hex
    try:
        for number in sorted(fields):
            bit, prefix, max_len, kind, good = _WRITES[number]
            value = fields[number]
            if kind == _TEXT:
                if not (value.isascii() and value.isprintable()):  # ans (its check, in line)
                    return None
                raw = value.encode("ascii")
                length = len(raw)
            elif not (value.isdigit() and value.isascii()) and not good(value):
                return None  # ASCII digits fit n, z and b alike: the class's own check else
            elif kind == _NIBBLES:
                length = len(value)
                raw = a2b(value + "0" if length & 1 else value)
            else:
                if len(value) & 1:
                    return None
                raw = a2b(value)
                length = len(raw)
            if prefix == 0:
                if length != max_len:
                    return None
            elif length > max_len:
                return None
            else:
                append(_PREFIXES[prefix][length])
            append(raw)
            bitmap |= bit
        parts[0] = a2b(mti) + bitmap.to_bytes(_BITMAP_BYTES, "big")
    except (KeyError, ValueError, TypeError, AttributeError, binascii.Error):
        return None
    return b"".join(parts)


def decode(body: bytes) -> tuple[str, dict[int, str]] | None:
    """(MTI, fields in field order) of a well-formed body whose every field passes codec.py's
    content checks; None for anything else (codec.py then asks pyiso8583 what is wrong).
    One loop over the slots the bitmap sets, each field read in line."""
    end_of_body = len(body)
    if end_of_body < _BODY_START:
        return None
    bitmap = int.from_bytes(body[2:_BODY_START], "big")
    if bitmap & _FOREIGN:
        return None
    fields: dict[int, str] = {}
    pos = _BODY_START
    for number, prefix, max_len, nibbles, text, good in _PLANS.get(bitmap) or _plan(bitmap):
        if prefix:
            head = body[pos:pos + prefix].hex()
            if len(head) != 2 * prefix or not head.isdigit():
                return None
            length = int(head)
            if length > max_len:
                return None
            pos += prefix
            if length == 0:
                fields[number] = ""
                continue
        else:
            length = max_len
        end = pos + ((length + 1) >> 1 if nibbles else length)
        if end > end_of_body:
            return None
        if text:
            raw = body[pos:end]
            if not raw.isascii():
                return None
            value = raw.decode("ascii")
        else:
            value = body[pos:end].hex().upper()
            if nibbles and length & 1:
                if value[-1] != "0":
                    return None
                value = value[:-1]
        if good is not None and not good(value):
            return None
        fields[number] = value
        pos = end
    if pos != end_of_body:
        return None
    return body[:2].hex().upper(), fields
