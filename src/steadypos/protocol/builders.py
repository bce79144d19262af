"""Requests of §3 built from plain values: what a terminal packs, shared by the terminal engine,
tests, benchmarks and the conformance tools."""

from __future__ import annotations

from dataclasses import dataclass

from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import encipher_pin
from steadypos.protocol.fields import Field60, Field61, Totals
from steadypos.protocol.frame import Header, Tpdu
from steadypos.protocol.messages import BY_NAME, REVERSAL_FORBIDDEN

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


def sign_in(st: Station, stan: int, batch: int) -> Message:
    return st.message("0800", {11: f"{stan:06d}", 60: Field60("00", batch, "003").format(),
                               63: st.operator})


def sign_out(st: Station, stan: int, batch: int) -> Message:
    return st.message("0820", {11: f"{stan:06d}", 60: Field60("00", batch, "002").format()})


def echo(st: Station, stan: int, batch: int) -> Message:
    return st.message("0820", {11: f"{stan:06d}", 60: Field60("00", batch, "301").format()})


def sale(st: Station, stan: int, batch: int, amount: int, card: Card, pin: str | None = None,
         pik: bytes | None = None) -> Message:
    fields = _card_fields(card, pin, pik)
    fields.update({3: "000000", 4: f"{amount:012d}", 11: f"{stan:06d}", 49: CURRENCY,
                   60: Field60("22", batch).format()})
    return st.message("0200", fields)


def balance(st: Station, stan: int, batch: int, card: Card, pin: str, pik: bytes) -> Message:
    fields = _card_fields(card, pin, pik)
    fields.update({3: "310000", 11: f"{stan:06d}", 49: CURRENCY,
                   60: Field60("01", batch).format()})
    return st.message("0200", fields)


def void(st: Station, stan: int, batch: int, amount: int, card: Card, orig_stan: int,
         orig_batch: int, orig_rrn: str, orig_auth: str, pin: str | None = None,
         pik: bytes | None = None) -> Message:
    fields = _card_fields(card, pin, pik)
    fields.update({3: "200000", 4: f"{amount:012d}", 11: f"{stan:06d}", 37: orig_rrn,
                   38: orig_auth, 49: CURRENCY, 60: Field60("23", batch).format(),
                   61: Field61(orig_batch, orig_stan).format()})
    return st.message("0200", fields)


def refund(st: Station, stan: int, batch: int, amount: int, card: Card, orig_stan: int,
           orig_batch: int, orig_rrn: str, orig_date: str) -> Message:
    fields = _card_fields(card, None, None)
    fields.pop(55, None)
    fields.pop(23, None)
    fields.update({3: "200000", 4: f"{amount:012d}", 11: f"{stan:06d}", 37: orig_rrn,
                   49: CURRENCY, 60: Field60("25", batch).format(),
                   61: Field61(orig_batch, orig_stan, orig_date).format()})
    return st.message("0220", fields)


def reversal(original: Message, reason: str, auth_code: str = "") -> Message:
    """The 0400 for a reversible request: its fields less the forbidden ones, plus the reason."""
    keep = BY_NAME["reversal"].required | BY_NAME["reversal"].optional
    fields = {n: v for n, v in original.fields.items()
              if n in keep and n not in REVERSAL_FORBIDDEN and n != 64}
    fields[22] = fields[22][:2] + "2"  # no PIN travels in a reversal
    fields[39] = reason
    if auth_code:
        fields[38] = auth_code
    return Message("0400", fields, original.tpdu, original.header)


def settle(st: Station, stan: int, batch: int, totals: Totals) -> Message:
    return st.message("0500", {11: f"{stan:06d}", 48: totals.format(), 49: CURRENCY,
                               60: Field60("00", batch, "201").format(), 63: st.operator})


def batch_upload(st: Station, stan: int, batch: int, records_f48: str, end: bool) -> Message:
    return st.message("0320", {11: f"{stan:06d}", 48: records_f48,
                               60: Field60("00", batch, "202" if end else "201").format()})
