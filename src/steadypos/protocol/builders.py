"""Requests of §3 built from plain values: what a terminal packs, shared by the terminal engine,
tests, benchmarks and the conformance tools."""

from __future__ import annotations

from dataclasses import dataclass

from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import encipher_pin
from steadypos.protocol.fields import Field60, Field61, Totals
from steadypos.protocol.frame import Header, Tpdu
from steadypos.protocol.messages import BY_NAME, REVERSAL_FORBIDDEN, MessageName

SECURITY_CONTROL = "2600000000000000"
PIN_CAPTURE = "12"
CURRENCY = "156"


@dataclass(frozen=True)
class Station:
    """Who sends: terminal and merchant ids, TPDU, header state, operator number."""

    tid: str
    mid: str
    tpdu: Tpdu = Tpdu()
    training: bool = False
    operator: str = "001"

    def message(self, mti: str, fields: dict[int, str]) -> Message:
        fields = {**fields, 41: self.tid, 42: self.mid}
        return Message(mti, fields, self.tpdu, Header(state=1 if self.training else 0))


@dataclass(frozen=True)
class Card:
    """What the reader gives: a PAN (or QR code), expiry, track 2, and chip data when inserted."""

    pan: str
    expiry: str = ""
    track2: str = ""
    method: str = "02"  # F22 method: 02 swipe, 05 chip, 07 contactless, 03 QR
    psn: str = ""
    icc: bytes = b""

    @classmethod
    def from_track2(cls, track2: str) -> Card:
        t2 = track2.replace("=", "D").upper()
        pan, _, rest = t2.partition("D")
        return cls(pan=pan, expiry=rest[:4], track2=t2)

    @classmethod
    def qr(cls, code: str) -> Card:
        return cls(pan=code, method="03")


def _card_fields(card: Card, pin: str | None, pik: bytes | None) -> dict[int, str]:
    fields: dict[int, str] = {2: card.pan, 22: card.method + ("1" if pin else "2"), 25: "00"}
    if card.method != "03":
        if card.expiry:
            fields[14] = card.expiry
        if card.track2:
            fields[35] = card.track2
    if card.icc:
        fields[55] = card.icc.hex().upper()
        if card.psn:
            fields[23] = card.psn.zfill(3)
    if pin:
        assert pik is not None, "a PIN needs the PIN key"
        fields[26] = PIN_CAPTURE
        fields[52] = encipher_pin(pik, pin, card.pan).hex().upper()
        fields[53] = SECURITY_CONTROL
    return fields


def _request(st: Station, name: MessageName, stan: int, batch: int,
             fields: dict[int, str] | None = None, network: str | None = None) -> Message:
    """The request `name` of the catalogue (§3): its MTI, F3, STAN and F60 (60.1, the batch and
    60.3, or `network` where one message type has two) on top of `fields`."""
    mt = BY_NAME[name]
    head = {11: f"{stan:06d}",
            60: Field60(mt.f60_1 or "", batch, network or mt.f60_3 or "").format()}
    if mt.f3 is not None:
        head[3] = mt.f3
    return st.message(mt.mti, {**(fields or {}), **head})


def sign_in(st: Station, stan: int, batch: int) -> Message:
    return _request(st, MessageName.SIGN_IN, stan, batch, {63: st.operator})


def sign_out(st: Station, stan: int, batch: int) -> Message:
    return _request(st, MessageName.SIGN_OUT, stan, batch)


def echo(st: Station, stan: int, batch: int) -> Message:
    return _request(st, MessageName.ECHO, stan, batch)


def sale(st: Station, stan: int, batch: int, amount: int, card: Card, pin: str | None = None,
         pik: bytes | None = None) -> Message:
    fields = _card_fields(card, pin, pik)
    fields.update({4: f"{amount:012d}", 49: CURRENCY})
    return _request(st, MessageName.SALE, stan, batch, fields)


def balance(st: Station, stan: int, batch: int, card: Card, pin: str, pik: bytes) -> Message:
    fields = _card_fields(card, pin, pik)
    fields[49] = CURRENCY
    return _request(st, MessageName.BALANCE, stan, batch, fields)


def void(st: Station, stan: int, batch: int, amount: int, card: Card, orig_stan: int,
         orig_batch: int, orig_rrn: str, orig_auth: str, pin: str | None = None,
         pik: bytes | None = None) -> Message:
    fields = _card_fields(card, pin, pik)
    fields.update({4: f"{amount:012d}", 37: orig_rrn, 38: orig_auth, 49: CURRENCY,
                   61: Field61(orig_batch, orig_stan).format()})
    return _request(st, MessageName.VOID, stan, batch, fields)


def refund(st: Station, stan: int, batch: int, amount: int, card: Card, orig_stan: int,
           orig_batch: int, orig_rrn: str, orig_date: str) -> Message:
    fields = _card_fields(card, None, None)
    fields.pop(55, None)
    fields.pop(23, None)
    fields.update({4: f"{amount:012d}", 37: orig_rrn, 49: CURRENCY,
                   61: Field61(orig_batch, orig_stan, orig_date).format()})
    return _request(st, MessageName.REFUND, stan, batch, fields)


def reversal(original: Message, reason: str, auth_code: str = "") -> Message:
    """The 0400 for a reversible request: its fields less the forbidden ones, plus the reason (a
    ReversalReason)."""
    mt = BY_NAME[MessageName.REVERSAL]
    keep = mt.required | mt.optional
    fields = {n: v for n, v in original.fields.items()
              if n in keep and n not in REVERSAL_FORBIDDEN and n != 64}
    fields[22] = fields[22][:2] + "2"  # no PIN travels in a reversal
    fields[39] = reason
    if auth_code:
        fields[38] = auth_code
    return Message(mt.mti, fields, original.tpdu, original.header)


def settle(st: Station, stan: int, batch: int, totals: Totals) -> Message:
    return _request(st, MessageName.SETTLE, stan, batch,
                    {48: totals.format(), 49: CURRENCY, 63: st.operator})


def batch_upload(st: Station, stan: int, batch: int, records_f48: str, end: bool) -> Message:
    name = MessageName.BATCH_UPLOAD_END if end else MessageName.BATCH_UPLOAD
    return _request(st, name, stan, batch, {48: records_f48})
