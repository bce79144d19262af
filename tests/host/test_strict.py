"""Strict fields, §7 of pos-link-v1.1 (issue 8, point 3): each check has a case here that a host
without it would answer differently. Every case starts from a request the host approves (the
controls prove it), changes one thing, MACs it with the terminal's own keys (so the MAC is no
reason to refuse), and expects the exact code and no money moved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hostkit import DEMO, Host, TestTerminal, rich_card, swipe

from steadypos.protocol import builders
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message
from steadypos.protocol.fields import BatchRecord, Totals, format_batch_records

CARD, OTHER = rich_card(0), rich_card(1)
QR = DEMO["qr_codes"][0]["code"]


@dataclass
class World:
    host: Host
    term: TestTerminal
    sale: tuple[Message, Message]  # an approved 50.00 sale with PIN, batch 1
    plain: tuple[Message, Message]  # an approved 20.00 sale without PIN


def _world(host: Host, term: TestTerminal) -> World:
    sale = term.sale(5_000, swipe(CARD), CARD["pin"])
    plain = term.sale(2_000, swipe(CARD))
    assert sale[1].get(39) == plain[1].get(39) == "00"
    return World(host, term, sale, plain)


# The request each case starts from, by kind.
def _sale(w: World) -> Message:
    t = w.term
    return builders.sale(t.station, t.next_stan(), t.batch, 1_000, swipe(CARD), CARD["pin"],
                         t.keys.pik)  # type: ignore[union-attr]


def _qr(w: World) -> Message:
    return builders.sale(w.term.station, w.term.next_stan(), w.term.batch, 100, Card.qr(QR))


def _void(w: World) -> Message:
    (req, resp), t = w.sale, w.term
    return builders.void(t.station, t.next_stan(), t.batch, 5_000, swipe(CARD), int(req.get(11)),
                         1, resp.get(37), resp.get(38))


def _refund(w: World) -> Message:
    (req, resp), t = w.sale, w.term
    return builders.refund(t.station, t.next_stan(), t.batch, 1_000, swipe(CARD),
                           int(req.get(11)), 1, resp.get(37), resp.get(13))


def _reversal(w: World) -> Message:
    return builders.reversal(w.sale[0], "98")


def _settle(w: World) -> Message:
    return builders.settle(w.term.station, w.term.next_stan(), 1, Totals(7_000, 2))


def _upload(w: World) -> Message:
    rec = BatchRecord(int(w.sale[0].get(11)), CARD["pan"], 5_000)
    return builders.batch_upload(w.term.station, w.term.next_stan(), 1,
                                 format_batch_records([rec]), end=False)


def _upload_end(w: World) -> Message:
    return builders.batch_upload(w.term.station, w.term.next_stan(), 1, "0001", end=True)


BASE: dict[str, Callable[[World], Message]] = {
    "sale": _sale, "qr": _qr, "void": _void, "refund": _refund, "reversal": _reversal,
    "settle": _settle, "upload": _upload, "upload_end": _upload_end,
}


def _set(**fields: str) -> Callable[[Message], None]:
    def change(m: Message) -> None:
        for key, value in fields.items():
            n = int(key[1:])
            if value == "":
                m.fields.pop(n, None)
            else:
                m.fields[n] = value
    return change


# (id, base request, change, expected F39)
CASES: list[tuple[str, str, Callable[[Message], None], str]] = [
    ("F25 not 00", "sale", _set(f25="01"), "30"),
    ("F49 not 156", "sale", _set(f49="840"), "30"),
    ("F53 not the security control", "sale", _set(f53="2000000000000000"), "30"),
    ("F14 month 13", "sale", _set(f14="3013"), "30"),
    ("F14 month 00", "sale", _set(f14="3000"), "30"),
    ("F26 out of 04..12", "sale", _set(f26="13"), "30"),
    ("F26 without F52", "sale", _set(f52="", f53="", f22="022"), "30"),
    ("F22 unknown method", "sale", _set(f22="091"), "30"),
    ("F22 no PIN but F52", "sale", _set(f22="022"), "30"),
    ("F11 000000", "sale", _set(f11="000000"), "30"),
    ("F60 batch 000000", "sale", _set(f60="22000000"), "30"),
    ("F60 cut 60.3", "sale", _set(f60="220000010"), "30"),
    ("unlisted F61 in a sale", "sale", _set(f61="000001000001"), "30"),
    ("QR with F55", "qr", _set(f55="9F2701"), "30"),
    ("other batch", "sale", _set(f60="22000002"), "77"),
    ("batch 999999", "sale", _set(f60="22999999"), "77"),
    ("F14 not the card's", "sale", _set(f14="3011"), "54"),
    ("track 2 expiry not F14's", "sale", lambda m: m.fields.__setitem__(
        35, m.fields[35].replace("D3012", "D3011")), "54"),
    ("track 2 not the card's", "sale", lambda m: m.fields.__setitem__(
        35, m.fields[35][:-1] + "9"), "14"),
    ("void F38 missing", "void", _set(f38=""), "30"),
    ("void F38 not the sale's", "void", _set(f38="999999"), "22"),
    ("void F61 date not the sale's", "void", lambda m: m.fields.__setitem__(
        61, m.fields[61][:12] + "0101"), "22"),
    ("void F61 15 digits", "void", lambda m: m.fields.__setitem__(61, m.fields[61] + "010"),
     "30"),
    ("refund F61 date 1399", "refund", lambda m: m.fields.__setitem__(
        61, m.fields[61][:12] + "1399"), "30"),
    ("refund F61 date not the sale's", "refund", lambda m: m.fields.__setitem__(
        61, m.fields[61][:12] + "0101"), "22"),
    ("reversal F2 other card", "reversal", _set(f2=OTHER["pan"]), "22"),
    ("reversal F3 other", "reversal", _set(f3="200000"), "22"),
    ("reversal F14 other", "reversal", _set(f14="3011"), "22"),
    ("reversal F14 dropped", "reversal", _set(f14=""), "22"),
    ("reversal F22 other method", "reversal", _set(f22="052"), "22"),
    ("reversal F42 other merchant", "reversal", _set(f42="898310087654321"), "03"),
    ("reversal F60.1 of a void", "reversal", lambda m: m.fields.__setitem__(
        60, "23" + m.fields[60][2:]), "22"),
    ("reversal F49 other", "reversal", _set(f49="840"), "30"),
    ("reversal reason 00", "reversal", _set(f39="00"), "30"),
    ("settle foreign block not zero", "settle", lambda m: m.fields.__setitem__(
        48, m.fields[48][:40] + "1" + m.fields[48][41:]), "30"),
    ("settle result digit not 0", "settle", lambda m: m.fields.__setitem__(
        48, m.fields[48][:30] + "1" + m.fields[48][31:]), "30"),
    ("settle F63 000", "settle", _set(f63="000"), "30"),
    ("settle F48 one digit short", "settle", lambda m: m.fields.__setitem__(
        48, m.fields[48][:61]), "30"),
    ("settle a batch never open", "settle", _set(f60="00000007201"), "77"),
    ("upload count 00", "upload", lambda m: m.fields.__setitem__(48, "00" + m.fields[48][2:]),
     "30"),
    ("upload record prefix 01", "upload", lambda m: m.fields.__setitem__(
        48, m.fields[48][:2] + "01" + m.fields[48][4:]), "30"),
    ("upload count says 2", "upload", lambda m: m.fields.__setitem__(
        48, "02" + m.fields[48][2:]), "30"),
    ("upload end count of 5 digits", "upload_end", _set(f48="00019"), "30"),
]


def _send(w: World, msg: Message) -> str:
    before = (w.host.balances(), len(w.host.postings()))
    resp = w.term.send(msg)
    if resp.get(39) != "00":
        assert (w.host.balances(), len(w.host.postings())) == before, "a refusal moved money"
    return resp.get(39)


@pytest.mark.parametrize("kind", sorted(BASE))
def test_the_unchanged_request_is_approved(host: Host, term: TestTerminal, kind: str) -> None:
    assert _send(_world(host, term), BASE[kind](_world(host, term))) == "00"


@pytest.mark.parametrize("name, kind, change, rc", CASES, ids=[c[0] for c in CASES])
def test_each_strict_check(host: Host, term: TestTerminal, name: str, kind: str,
                           change: Callable[[Message], None], rc: str) -> None:
    w = _world(host, term)
    msg = BASE[kind](w)
    change(msg)
    assert _send(w, msg) == rc


def test_a_reversal_may_say_no_pin_where_the_sale_had_one(host: Host, term: TestTerminal) -> None:
    """No PIN travels in a reversal (§3): our terminal sends F22 with PIN digit 2 for a PIN
    sale, and a 1.0 terminal may repeat the 1; a 1 where the sale had none is no match."""
    w = _world(host, term)
    rev = builders.reversal(w.sale[0], "98")
    assert rev.get(22) == "022" and w.sale[0].get(22) == "021"
    assert _send(w, rev) == "00"
    second = w.term.sale(3_000, swipe(CARD), CARD["pin"])[0]
    as_sent = builders.reversal(second, "98")
    as_sent.fields[22] = "021"  # the 1.0 way
    assert _send(w, as_sent) == "00"
    plain = builders.reversal(w.plain[0], "98")
    plain.fields[22] = "021"
    assert _send(w, plain) == "22"
    assert w.host.card_balance(CARD) == CARD["balance"] - 2_000  # only the plain sale stands
