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


def _data(slot: _Slot, value: str) -> tuple[bytes, int] | None:
    """The field's data bytes and its length in the spec's unit, or None."""
    if slot.text:
        if not value.isascii():
            return None
        raw = value.encode("ascii")
        return raw, len(raw)
    if slot.nibbles:
        padded = value + "0" if len(value) & 1 else value
        return binascii.a2b_hex(padded), len(value)
    if len(value) & 1:
        return None
    raw = binascii.a2b_hex(value)
    return raw, len(raw)


def encode(mti: str, fields: dict[int, str]) -> bytes | None:
    """MTI + bitmap + fields of a message of the profile's MTIs, fields and characters whose
    every field fits its layout; None for anything else (codec.py then names the problem)."""
    if not isinstance(mti, str) or _MTI.fullmatch(mti) is None:
        return None
    bitmap = 0
    parts = [b""]
    try:
        for number in sorted(fields):
            slot = BY_NUMBER[number]
            value = fields[number]
            if not slot.good(value):
                return None
            done = _data(slot, value)
            if done is None:
                return None
            raw, length = done
            if slot.prefix == 0:
                if length != slot.max_len:
                    return None
            elif length > slot.max_len:
                return None
            else:
                parts.append(binascii.a2b_hex(f"{length:0{2 * slot.prefix}d}"))
            parts.append(raw)
            bitmap |= slot.bit
        parts[0] = binascii.a2b_hex(mti) + bitmap.to_bytes(_BITMAP_BYTES, "big")
    except (KeyError, ValueError, TypeError, AttributeError, binascii.Error):
        return None
    return b"".join(parts)


def _field(body: bytes, pos: int, slot: _Slot) -> tuple[str, int] | None:
    """One field's value at `pos` and where the next field starts, or None."""
    if slot.prefix:
        head = body[pos:pos + slot.prefix].hex()
        if len(head) != 2 * slot.prefix or not head.isdigit():
            return None
        length = int(head)
        if length > slot.max_len:
            return None
        pos += slot.prefix
        if length == 0:
            return "", pos
    else:
        length = slot.max_len
    size = (length + 1) // 2 if slot.nibbles else length
    raw = body[pos:pos + size]
    if len(raw) != size:
        return None
    if slot.text:
        if not raw.isascii():
            return None
        value = raw.decode("ascii")
    else:
        value = raw.hex().upper()
        if slot.nibbles and length & 1:
            if value[-1] != "0":
                return None
            value = value[:-1]
    if not slot.good(value):
        return None
    return value, pos + size


def decode(body: bytes) -> tuple[str, dict[int, str]] | None:
    """(MTI, fields in field order) of a well-formed body whose every field passes codec.py's
    content checks; None for anything else (codec.py then asks pyiso8583 what is wrong)."""
    if len(body) < _BODY_START:
        return None
    bitmap = int.from_bytes(body[2:_BODY_START], "big")
    if bitmap & _FOREIGN:
        return None
    fields: dict[int, str] = {}
    pos = _BODY_START
    for slot in SLOTS:
        if bitmap & slot.bit:
            found = _field(body, pos, slot)
            if found is None:
                return None
            fields[slot.number], pos = found
    if pos != len(body):
        return None
    return body[:2].hex().upper(), fields
