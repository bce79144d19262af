"""Where the MAC goes: which messages carry one, what it covers, which algorithm (the terminal's
registered one, §4), how to sign and verify."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from enum import StrEnum

from steadypos.protocol import layout
from steadypos.protocol.codec import Message, encode_body
from steadypos.protocol.codes import UNMACED_CODES
from steadypos.protocol.crypto import pos_ecb_mac, x919_mac
from steadypos.protocol.mti import Mti, is_response


class MacAlgorithm(StrEnum):
    """A terminal's MAC algorithm, a column of the host's terminal registry."""

    X919 = "x919"  # ANSI X9.19, the default for every terminal
    POS_ECB = "pos_ecb"  # legacy 1.0 terminals only: forgeable without the key

    @property
    def weak(self) -> bool:
        return self is MacAlgorithm.POS_ECB


DEFAULT_MAC = MacAlgorithm.X919
# What each algorithm computes over the MAC input: the 8 bytes F64 carries.
ALGORITHMS: dict[MacAlgorithm, Callable[[bytes, bytes], bytes]] = {
    MacAlgorithm.X919: x919_mac,
    MacAlgorithm.POS_ECB: pos_ecb_mac,
}
WEAK_MAC_NOTE = ("pos_ecb is weak: it XORs all blocks before any cipher, so edits that cancel "
                 "out keep the MAC and a frame can be forged without the key")

MACED_MTIS = frozenset(m for request in (Mti.FINANCIAL, Mti.FINANCIAL_ADVICE, Mti.REVERSAL,
                                          Mti.SETTLEMENT, Mti.BATCH_UPLOAD)
                        for m in (request, request.response))
# 0820/0830 carry a MAC only as sign-out (60.3 = 002), never as echo test (§3, 1.1).
SIGN_OUT_MTIS = frozenset({Mti.NETWORK_ADVICE, Mti.NETWORK_ADVICE.response})
SIGN_OUT_NETWORK_CODE = "002"
_PLACEHOLDER = "00" * 8


def needs_mac(msg: Message) -> bool:
    if msg.mti in SIGN_OUT_MTIS:
        maced = msg.get(60)[8:11] == SIGN_OUT_NETWORK_CODE
    else:
        maced = msg.mti in MACED_MTIS
    return maced and not (is_response(msg.mti) and msg.get(39) in UNMACED_CODES)


def mac_input(msg: Message) -> bytes:
    """MTI to the last byte before F64, bitmap with bit 64 set."""
    if 64 in msg.fields:
        return encode_body(msg)[:-8]  # F64 is the last field: its 8 bytes end the body
    with_slot = msg.copy()
    with_slot.fields[64] = _PLACEHOLDER
    return encode_body(with_slot)[:-8]


def compute(mak: bytes, data: bytes, alg: MacAlgorithm = DEFAULT_MAC) -> bytes:
    fn = ALGORITHMS.get(alg)  # a StrEnum member or its value: the same key
    return (fn or ALGORITHMS[MacAlgorithm(alg)])(mak, data)


def sign(msg: Message, mak: bytes, alg: MacAlgorithm = DEFAULT_MAC) -> Message:
    """A copy of msg with F64 set (or removed when this message carries no MAC); the body is
    encoded once and kept, so sending it does not encode again."""
    fields = dict(msg.fields)
    fields.pop(64, None)
    return seal(Message(msg.mti, fields, msg.tpdu, msg.header), mak, alg)


def seal(msg: Message, mak: bytes, alg: MacAlgorithm = DEFAULT_MAC) -> Message:
    """sign() in place, for a message the caller has just built and owns: F64 set (when this
    message carries a MAC), the body encoded once and kept. Returns msg."""
    fields = msg.fields
    fields.pop(64, None)
    if needs_mac(msg):
        fields[64] = _PLACEHOLDER
        body = layout.encode(msg.mti, fields)
        if body is None:  # pyiso8583 alone (the layout said no): it encodes or names the error
            body = encode_body(msg, reference=True)
        covered = body[:-8]
        value = compute(mak, covered, alg)
        fields[64] = value.hex().upper()
        msg.wire = (dict(fields), covered + value)
    return msg


def verify(msg: Message, mak: bytes, alg: MacAlgorithm = DEFAULT_MAC) -> bool:
    if 64 not in msg.fields:
        return False
    expected = compute(mak, mac_input(msg), alg).hex().upper()
    return hmac.compare_digest(expected, msg.fields[64])
