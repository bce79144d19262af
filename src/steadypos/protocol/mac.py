"""Where the MAC goes: which messages carry one, what it covers, how to sign and verify."""

from __future__ import annotations

import hmac

from steadypos.protocol.codec import Message, encode_body
from steadypos.protocol.codes import UNMACED_CODES
from steadypos.protocol.crypto import pos_ecb_mac

MACED_MTIS = frozenset({"0200", "0210", "0220", "0230", "0400", "0410"})
_PLACEHOLDER = "00" * 8


def needs_mac(msg: Message) -> bool:
    if msg.mti not in MACED_MTIS:
        return False
    return not (msg.mti[2] in "13" and msg.get(39) in UNMACED_CODES)


def mac_input(msg: Message) -> bytes:
    """MTI to the last byte before F64, bitmap with bit 64 set."""
    if 64 in msg.fields:
        return encode_body(msg)[:-8]  # F64 is the last field: its 8 bytes end the body
    with_slot = msg.copy()
    with_slot.fields[64] = _PLACEHOLDER
    return encode_body(with_slot)[:-8]


def sign(msg: Message, mak: bytes) -> Message:
    """A copy of msg with F64 set (or removed when this message carries no MAC); the body is
    encoded once and kept, so sending it does not encode again."""
    out = msg.copy()
    out.fields.pop(64, None)
    if needs_mac(out):
        out.fields[64] = _PLACEHOLDER
        covered = encode_body(out)[:-8]
        value = pos_ecb_mac(mak, covered)
        out.fields[64] = value.hex().upper()
        out.wire = (dict(out.fields), covered + value)
    return out


def verify(msg: Message, mak: bytes) -> bool:
    if 64 not in msg.fields:
        return False
    expected = pos_ecb_mac(mak, mac_input(msg)).hex().upper()
    return hmac.compare_digest(expected, msg.fields[64])
