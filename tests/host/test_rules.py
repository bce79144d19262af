"""The host's rules (point 5): sign-in and keys, card checks, void/refund, balance, idempotency,
reversal and tombstones, settlement and batch upload, chip and QR. Exact F39, exact fen, and the
ledger after each step. Most tests run in-process; the last ones go over real TCP."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit import (
    DEMO,
    MID_A,
    Host,
    TestTerminal,
    chip_card,
    demo_cards,
    low_card,
    rich_card,
    swipe,
)
from pyemv import tlv
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.host import app as host_app
from steadypos.host.ledger import check
from steadypos.host.store import open_store
from steadypos.protocol import builders, emv, mac
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import BatchRecord, Field60, Totals, parse_balance
from steadypos.protocol.frame import PROC_SIGN_IN
from steadypos.protocol.link import Connection
from steadypos.protocol.messages import BY_NAME

SALE_RESPONSE = {2, 3, 4, 11, 12, 13, 15, 25, 32, 37, 38, 39, 41, 42, 44, 49, 60, 63, 64}
STEADYPOS = str(Path(sys.executable).with_name("steadypos"))
DECLINE_RESPONSE = {2, 3, 4, 11, 12, 13, 25, 39, 41, 42, 49, 60, 64}


def _nothing_moved(host: Host, before: dict[str, int], postings: int) -> None:
    assert host.balances() == before
    assert len(host.postings()) == postings


def _snapshot(host: Host) -> tuple[dict[str, int], int]:
    return host.balances(), len(host.postings())


def _wrong_pin(card: dict[str, Any]) -> str:
    return "000000" if card["pin"] != "000000" else "111111"


# -- sign-in and keys (§4) ---------------------------------------------------------------------
def test_sign_in_issues_fresh_keys_every_time(host: Host) -> None:
    t = TestTerminal(host, "T0000001")
    first = t.sign_in()
    assert first.mti == "0810" and first.get(39) == "00"
    assert set(first.fields) == {11, 12, 13, 32, 37, 39, 41, 42, 60, 62}
    assert first.get(60) == "00000001003"
    keys1 = t.keys
    second = t.sign_in()
    assert second.get(39) == "00"
    assert second.get(62) != first.get(62)
    keys2 = t.keys
    assert keys1 is not None and keys2 is not None
    assert {keys1.pik, keys1.mak, keys1.tdk}.isdisjoint({keys2.pik, keys2.mak, keys2.tdk})
    # Every check value checks; a flipped CV byte fails the sign-in.
    block = bytearray(bytes.fromhex(second.get(62)))
    assert len(block) == 60
    block[36] ^= 0x01  # MAK's CV
    with pytest.raises(ProtocolError, match="MAK check value"):
        unpack_key_block(t.tmk, bytes(block))


def test_old_keys_die_once_the_new_ones_are_used(host: Host, term: TestTerminal) -> None:
    """1.1 §4 (was: a sign-in killed the old keys at once). The keys in use stay in force until a
    request verifies under the newer set; from then on the old set gets an unMAC'd A0."""
    card = rich_card()
    old = term.keys
    assert term.sign_in().get(39) == "00"
    _, resp = term.sale(1000, swipe(card), card["pin"], keys=old)
    assert resp.get(39) == "00"  # the new set is not used yet
    _, resp = term.sale(1000, swipe(card), card["pin"])
    assert resp.get(39) == "00"  # now it is, and it is the one in force
    before, n = _snapshot(host)
    _, resp = term.sale(1000, swipe(card), card["pin"], keys=old)
    assert resp.mti == "0210" and resp.get(39) == "A0"
    assert 64 not in resp and resp.header.proc == PROC_SIGN_IN
    _nothing_moved(host, before, n)
    _, resp = term.sale(1000, swipe(card), card["pin"])
    assert resp.get(39) == "00"


def test_unmaced_request_gets_a0(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    req = builders.sale(term.station, term.next_stan(), term.batch, 1000, swipe(card))
    resp = host.handle(req)  # no F64 at all
    assert resp is not None and resp.get(39) == "A0" and 64 not in resp


@pytest.mark.parametrize("tid, mid", [("T0000099", MID_A), ("T0000003", MID_A)],
                         ids=["unknown-tid", "tid-mid-mismatch"])
def test_unknown_terminal_or_wrong_merchant_gets_03(host: Host, tid: str, mid: str) -> None:
    t = TestTerminal(host, tid, mid=mid)
    resp = t.sign_in()
    assert resp.get(39) == "03" and 62 not in resp and 64 not in resp
    before, n = _snapshot(host)
    card = rich_card()
    _, resp = t.sale(1000, swipe(card), keys=WorkingKeys.fresh())
    assert resp.get(39) == "03" and 64 not in resp
    _nothing_moved(host, before, n)


def test_never_signed_in_gets_97(host: Host) -> None:
    t = TestTerminal(host, "T0000002")
    card = rich_card()
    before, n = _snapshot(host)
    _, resp = t.sale(1000, swipe(card), card["pin"], keys=WorkingKeys.fresh())
    assert resp.get(39) == "97" and 64 not in resp and resp.header.proc == PROC_SIGN_IN
    _nothing_moved(host, before, n)
    assert host.store.txn("T0000002", 1, 1, "0200") is None


# -- sale and card checks (§5) -----------------------------------------------------------------
def test_sale_debits_card_and_credits_merchant(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    start = host.card_balance(card)
    req, resp = term.sale(12_345, swipe(card), card["pin"])
    assert resp.mti == "0210" and resp.get(39) == "00"
    assert set(resp.fields) == SALE_RESPONSE
    assert resp.get(4) == "000000012345" and resp.get(11) == req.get(11)
    assert resp.tpdu == req.tpdu.swapped() and resp.header == req.header
    assert re.fullmatch(r"\d{12}", resp.get(37)) and re.fullmatch(r"\d{6}", resp.get(38))
    assert host.card_balance(card) == start - 12_345
    assert host.merchant_balance() == 12_345
    (_, kind, ref, lines), = host.postings_of("sale")
    assert ref == f"T0000001/000001/{int(req.get(11)):06d}"
    assert lines == [(host.card_account(card), -12_345), (f"merchant:{MID_A}", 12_345)]
    # A second terminal of the same merchant, same batch and STAN: another key, another sale,
    # paid into the same account.
    t2 = TestTerminal(host, "T0000002")
    t2.sign_in()
    assert t2.sale(655, swipe(card), card["pin"], stan=int(req.get(11)))[1].get(39) == "00"
    assert host.merchant_balance() == 13_000
    assert host.card_balance(card) == start - 13_000


def test_three_wrong_pins_lock_the_card(host: Host, term: TestTerminal) -> None:
    card = rich_card(1)
    before, n = _snapshot(host)
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "55"
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "55"
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "75"
    # Locked: the right PIN does not help, nor does a balance inquiry.
    assert term.sale(100, swipe(card), card["pin"])[1].get(39) == "75"
    assert term.balance(swipe(card), card["pin"])[1].get(39) == "75"
    _nothing_moved(host, before, n)
    assert host.card_row(card).status == "locked"
    # Another card is untouched.
    other = rich_card(2)
    assert term.sale(100, swipe(other), other["pin"])[1].get(39) == "00"


def test_right_pin_resets_the_counter(host: Host, term: TestTerminal) -> None:
    card = rich_card(1)
    start = host.card_balance(card)
    for _ in range(2):
        assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "55"
    assert term.sale(100, swipe(card), card["pin"])[1].get(39) == "00"
    assert host.card_row(card).pin_tries == 0
    for _ in range(2):
        assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "55"
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "75"
    assert host.card_balance(card) == start - 100


def test_declines_move_nothing(host: Host, term: TestTerminal) -> None:
    low = low_card()
    expired = demo_cards(status="expired")[0]
    blocked = demo_cards(status="blocked")[0]
    unknown = Card.from_track2("6222029999999999996D30121010000000")
    richest = max(demo_cards(), key=lambda c: c["balance"])
    before, n = _snapshot(host)
    cases = [
        (low["balance"] + 1, swipe(low), low["pin"], "51"),
        (100, swipe(expired), expired["pin"], "54"),
        (100, swipe(blocked), blocked["pin"], "14"),
        (100, unknown, None, "14"),
        (5_000_001, swipe(richest), richest["pin"], "61"),
        # At the limit it is no longer 61: the card's balance decides.
        (5_000_000, swipe(richest), richest["pin"], "51"),
        (0, swipe(richest), richest["pin"], "13"),
    ]
    for amount, card, pin, rc in cases:
        _, resp = term.sale(amount, card, pin)
        assert (amount, resp.get(39)) == (amount, rc)
        assert set(resp.fields) <= DECLINE_RESPONSE | {12, 13}
        assert 38 not in resp
    _nothing_moved(host, before, n)
    # The low card can still spend exactly what it has.
    assert term.sale(low["balance"], swipe(low), low["pin"])[1].get(39) == "00"
    assert host.card_balance(low) == 0


# -- void and refund (§7) ----------------------------------------------------------------------
def test_void_returns_the_money_once(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    start = host.card_balance(card)
    sale = term.sale(5_000, swipe(card), card["pin"])
    _, resp = term.void(5_000, swipe(card), sale)
    assert resp.get(39) == "00" and set(resp.fields) == SALE_RESPONSE
    assert resp.get(37) != sale[1].get(37)
    assert host.card_balance(card) == start and host.merchant_balance() == 0
    (_, _, _, lines), = host.postings_of("void")
    assert lines == [(f"merchant:{MID_A}", -5_000), (host.card_account(card), 5_000)]
    before, n = _snapshot(host)
    assert term.void(5_000, swipe(card), sale)[1].get(39) == "25"
    _nothing_moved(host, before, n)


def test_void_not_found_or_not_matching(host: Host, term: TestTerminal) -> None:
    card, other = rich_card(0), rich_card(1)
    sale = term.sale(5_000, swipe(card), card["pin"])
    declined = term.sale(5_000, swipe(card), _wrong_pin(card))
    before, n = _snapshot(host)
    missing = (builders.sale(term.station, 999, 1, 5_000, swipe(card)), sale[1])
    assert term.void(5_000, swipe(card), missing)[1].get(39) == "25"
    assert term.void(5_000, swipe(card), declined, rrn="000000000001")[1].get(39) == "25"
    assert term.void(4_999, swipe(card), sale)[1].get(39) == "22"
    assert term.void(5_000, swipe(other), sale)[1].get(39) == "22"
    assert term.void(5_000, swipe(card), sale, rrn="999999999999")[1].get(39) == "22"
    _nothing_moved(host, before, n)
    assert term.void(5_000, swipe(card), sale)[1].get(39) == "00"


def test_refunds_are_partial_and_never_exceed_the_sale(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    start = host.card_balance(card)
    sale = term.sale(10_000, swipe(card), card["pin"])
    _, resp = term.refund(10_001, swipe(card), sale)
    assert resp.mti == "0230" and resp.get(39) == "13"
    _, resp = term.refund(4_000, swipe(card), sale)
    assert resp.get(39) == "00" and set(resp.fields) == SALE_RESPONSE
    assert host.card_balance(card) == start - 6_000 and host.merchant_balance() == 6_000
    assert term.refund(6_001, swipe(card), sale)[1].get(39) == "13"
    assert term.refund(6_000, swipe(card), sale)[1].get(39) == "00"
    before, n = _snapshot(host)
    assert term.refund(1, swipe(card), sale)[1].get(39) == "13"
    assert term.refund(1, swipe(rich_card(1)), sale)[1].get(39) == "22"
    assert term.refund(1, swipe(card), sale, rrn="999999999999")[1].get(39) == "22"
    _nothing_moved(host, before, n)
    assert host.card_balance(card) == start and host.merchant_balance() == 0
    assert [p[3][1][1] for p in host.postings_of("refund")] == [4_000, 6_000]
    # A fully refunded sale can no longer be voided.
    assert term.void(10_000, swipe(card), sale)[1].get(39) == "22"


# -- balance inquiry ---------------------------------------------------------------------------
def test_balance_answers_f54(host: Host, term: TestTerminal) -> None:
    card = rich_card(3)
    _, resp = term.balance(swipe(card), card["pin"])
    assert resp.mti == "0210" and resp.get(39) == "00"
    assert set(resp.fields) == {2, 3, 11, 12, 13, 37, 39, 41, 42, 54, 60, 64}
    assert resp.get(54) == f"1002156C{card['balance']:012d}"
    term.sale(777, swipe(card), card["pin"])
    _, resp = term.balance(swipe(card), card["pin"])
    assert parse_balance(resp.get(54)) == card["balance"] - 777 == host.card_balance(card)
    assert term.balance(swipe(card), _wrong_pin(card))[1].get(39) == "55"


# -- idempotency (§7) --------------------------------------------------------------------------
def test_repeat_gets_the_stored_response_and_moves_nothing(host: Host,
                                                           term: TestTerminal) -> None:
    card = rich_card()
    start = host.card_balance(card)
    req, first = term.sale(2_500, swipe(card), card["pin"])
    n = len(host.postings())
    again = term.send(req)
    assert again.get(39) == "00"
    assert {k: v for k, v in again.fields.items() if k != 64} == \
        {k: v for k, v in first.fields.items() if k != 64}
    # After a re-sign-in the terminal re-packs it under the new keys: same answer, new MAC.
    assert term.sign_in().get(39) == "00"
    stan = int(req.get(11))
    _, third = term.sale(2_500, swipe(card), card["pin"], stan=stan)
    assert third.get(37) == first.get(37) and third.get(38) == first.get(38)
    assert third.get(64) != first.get(64)
    assert term.keys is not None and mac.verify(third, term.keys.mak)
    assert len(host.postings()) == n
    assert host.card_balance(card) == start - 2_500 and host.merchant_balance() == 2_500


def test_repeated_decline_does_not_count_another_wrong_pin(host: Host,
                                                          term: TestTerminal) -> None:
    card = rich_card()
    req, resp = term.sale(100, swipe(card), _wrong_pin(card))
    assert resp.get(39) == "55"
    for _ in range(3):
        assert term.send(req).get(39) == "55"
    assert host.card_row(card).pin_tries == 1
    assert term.sale(100, swipe(card), card["pin"])[1].get(39) == "00"


def test_same_key_other_content_gets_94(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    req, _ = term.sale(2_500, swipe(card), card["pin"])
    before, n = _snapshot(host)
    stan = int(req.get(11))
    _, resp = term.sale(2_600, swipe(card), card["pin"], stan=stan)
    assert resp.get(39) == "94" and 64 in resp  # MACed: the terminal holds good keys
    _, resp = term.sale(2_500, swipe(rich_card(1)), rich_card(1)["pin"], stan=stan)
    assert resp.get(39) == "94"
    _nothing_moved(host, before, n)


# -- reversal and tombstone (§7) ---------------------------------------------------------------
def test_reversal_returns_the_money_once(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    start = host.card_balance(card)
    sale_req, sale_resp = term.sale(3_000, swipe(card), card["pin"])
    rev_req, resp = term.reverse(sale_req, "98")
    assert BY_NAME["reversal"].required - {64} <= set(rev_req.fields)
    assert not {26, 35, 36, 52, 53} & set(rev_req.fields)
    assert resp.mti == "0410" and resp.get(39) == "00"
    assert set(resp.fields) == {2, 3, 4, 11, 12, 13, 37, 39, 41, 42, 60, 64}
    assert resp.get(37) == sale_resp.get(37)
    assert host.card_balance(card) == start and host.merchant_balance() == 0
    (_, _, _, lines), = host.postings_of("reversal")
    assert lines == [(f"merchant:{MID_A}", -3_000), (host.card_account(card), 3_000)]
    before, n = _snapshot(host)
    # Sent again: the same answer, nothing moves. With another reason or the auth code: same.
    assert term.send(rev_req).get(39) == "00"
    assert term.reverse(sale_req, "A0")[1].get(39) == "00"
    assert term.reverse(sale_req, "96", sale_resp.get(38))[1].get(39) == "00"
    _nothing_moved(host, before, n)
    # The sale is gone: a void finds nothing, and the original repeated gets its old answer.
    assert term.void(3_000, swipe(card), (sale_req, sale_resp))[1].get(39) == "25"
    assert term.send(sale_req).get(39) == "00"
    _nothing_moved(host, before, n)


def test_reversal_of_unknown_original_leaves_a_tombstone(host: Host,
                                                         term: TestTerminal) -> None:
    card = rich_card()
    before, n = _snapshot(host)
    # The sale never reached the host; the terminal times out and reverses it.
    lost = builders.sale(term.station, term.next_stan(), term.batch, 4_000, swipe(card),
                         card["pin"], term.keys.pik if term.keys else None)
    _, resp = term.reverse(lost, "98")
    assert resp.get(39) == "00"
    tomb = host.store.txn("T0000001", 1, int(lost.get(11)), "0200")
    assert tomb is not None and tomb.state == "tombstone"
    assert term.reverse(lost, "98")[1].get(39) == "00"
    # The original shows up late: declined, nothing moves, however often it comes.
    for _ in range(2):
        resp = term.send(lost)
        assert resp.get(39) == "25" and 38 not in resp
    _nothing_moved(host, before, n)


def test_reversal_of_declined_or_mismatched(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    declined, _ = term.sale(100, swipe(card), _wrong_pin(card))
    sale, _ = term.sale(3_000, swipe(card), card["pin"])
    before, n = _snapshot(host)
    assert term.reverse(declined)[1].get(39) == "00"
    other_amount = sale.copy()
    other_amount.fields[4] = f"{2_999:012d}"
    assert term.reverse(other_amount)[1].get(39) == "22"
    _nothing_moved(host, before, n)
    assert host.card_balance(card) == card["balance"] - 3_000


def test_reversal_of_a_void_charges_the_sale_again(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    sale = term.sale(7_000, swipe(card), card["pin"])
    void_req, void_resp = term.void(7_000, swipe(card), sale)
    assert void_resp.get(39) == "00" and host.card_balance(card) == card["balance"]
    assert term.reverse(void_req)[1].get(39) == "00"
    assert host.card_balance(card) == card["balance"] - 7_000
    assert host.merchant_balance() == 7_000
    # The sale counts again in the batch.
    _, resp = term.settle(Totals(7_000, 1))
    assert resp.get(48)[30] == "1"


# -- settlement and batch upload (§3) ----------------------------------------------------------
def _settled_day(host: Host, term: TestTerminal) -> dict[str, Any]:
    """Sales of 1000, 2000 (voided), 3000 (reversed), 4000 (refunded 1500): host totals are
    debit 5000 in 2, credit 1500 in 1."""
    card = rich_card()
    s1 = term.sale(1_000, swipe(card), card["pin"])
    s2 = term.sale(2_000, swipe(card), card["pin"])
    s3 = term.sale(3_000, swipe(card), card["pin"])
    s4 = term.sale(4_000, swipe(card), card["pin"])
    assert term.void(2_000, swipe(card), s2)[1].get(39) == "00"
    assert term.reverse(s3[0])[1].get(39) == "00"
    r1 = term.refund(1_500, swipe(card), s4)
    assert r1[1].get(39) == "00"
    return {"card": card, "s1": s1, "s4": s4, "r1": r1}


def test_balanced_settlement_closes_the_batch(host: Host, term: TestTerminal) -> None:
    day = _settled_day(host, term)
    card = day["card"]
    _, resp = term.settle(Totals(5_000, 2, 1_500, 1))
    assert resp.mti == "0510" and resp.get(39) == "00"
    assert set(resp.fields) == {11, 12, 13, 15, 37, 39, 41, 42, 48, 49, 60, 64}  # 1.1: MAC'd
    f48 = resp.get(48)
    assert len(f48) == 62 and f48[30] == "1" and f48[61] == "1"
    assert f48[:30] == Totals(5_000, 2, 1_500, 1).format()[:30]
    assert resp.get(60) == "00000001201"
    # The next sign-in moves the terminal to batch 2; batch 1 is closed to voids.
    resp = term.sign_in()
    assert Field60.parse(resp.get(60)).batch == 2 and term.batch == 2
    before, n = _snapshot(host)
    assert term.void(1_000, swipe(card), day["s1"])[1].get(39) == "25"
    _nothing_moved(host, before, n)
    # A refund of a sale of the closed batch is still allowed, within what is left.
    assert term.refund(2_501, swipe(card), day["s4"])[1].get(39) == "13"
    assert term.refund(2_500, swipe(card), day["s4"])[1].get(39) == "00"
    # That refund belongs to the new batch, where it is the only entry.
    assert term.settle(Totals(0, 0, 2_500, 1))[1].get(48)[30] == "1"
    assert Field60.parse(term.sign_in().get(60)).batch == 3


def test_unbalanced_settlement_then_batch_upload(host: Host, term: TestTerminal) -> None:
    day = _settled_day(host, term)
    card = day["card"]
    _, resp = term.settle(Totals(8_000, 3, 1_500, 1))
    f48 = resp.get(48)
    assert resp.get(39) == "00" and f48[30] == "2" and f48[61] == "2"
    assert host.store.upload_diffs() == []
    # The terminal uploads what it has: s1 right, s4 with a wrong amount, s3 (reversed on the
    # host), and a sale the host never saw.
    s1, s4 = int(day["s1"][0].get(11)), int(day["s4"][0].get(11))
    s3 = s1 + 2
    records = [BatchRecord(s1, card["pan"], 1_000), BatchRecord(s4, card["pan"], 4_100),
               BatchRecord(s3, card["pan"], 3_000), BatchRecord(900, card["pan"], 500),
               BatchRecord(int(day["r1"][0].get(11)), rich_card(1)["pan"], 1_500)]
    before, n = _snapshot(host)
    resp = term.upload(records, batch=1)
    assert resp.mti == "0330" and resp.get(39) == "00" and 64 in resp  # 1.1: MAC'd
    assert term.upload([], batch=1, end_count=5).get(39) == "00"
    assert host.store.upload_diffs("T0000001") == [
        ("T0000001", 1, s4, "amount: terminal 4100, host 4000"),
        ("T0000001", 1, s3, "host has it as reversed"),
        ("T0000001", 1, 900, "terminal has it, host does not"),
        ("T0000001", 1, int(day["r1"][0].get(11)), "card differs"),
        ("T0000001", 1, 0, "count: terminal 5, host 3"),
    ]
    _nothing_moved(host, before, n)  # the host's record wins: no money moves on an upload
    assert Field60.parse(term.sign_in().get(60)).batch == 2


def test_settlement_is_per_terminal(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    term.sale(1_000, swipe(card), card["pin"])
    t3 = TestTerminal(host, "T0000003")
    t3.sign_in()
    t3.sale(2_000, swipe(card), card["pin"])
    mid_b = DEMO["terminals"][2]["mid"]
    assert mid_b != MID_A
    assert host.merchant_balance(mid_b) == 2_000 and host.merchant_balance() == 1_000
    assert term.settle(Totals(1_000, 1))[1].get(48)[30] == "1"
    assert t3.settle(Totals(1_000, 1))[1].get(48)[30] == "2"


# -- chip and QR -------------------------------------------------------------------------------
def test_chip_sale_verifies_arqc_and_returns_arpc(host: Host, term: TestTerminal) -> None:
    chip = demo_cards("chip")[0]
    card, tags = chip_card(chip, 8_800, atc=7)
    req, resp = term.sale(8_800, card, chip["pin"])
    assert req.get(22) == "051" and req.get(23) == "001"
    assert resp.get(39) == "00" and set(resp.fields) == SALE_RESPONSE | {55}
    icc = bytes.fromhex(resp.get(55))
    assert len(tlv.decode(icc, flatten=True)["91"]) == 10  # ARPC (8) + ARPC response code
    assert emv.card_check_arpc(bytes.fromhex(chip["icc_mk"]), tags, icc)
    assert host.card_balance(chip) == chip["balance"] - 8_800


def test_tampered_arqc_gets_05(host: Host, term: TestTerminal) -> None:
    chip = demo_cards("chip")[1]
    card, tags = chip_card(chip, 8_800)
    icc = bytearray(card.icc)
    at = icc.index(b"\x9f\x26\x08") + 3
    icc[at] ^= 0xFF
    bad = Card(card.pan, card.expiry, card.track2, card.method, card.psn, bytes(icc))
    before, n = _snapshot(host)
    _, resp = term.sale(8_800, bad, chip["pin"])
    assert resp.get(39) == "05" and 38 not in resp
    _nothing_moved(host, before, n)
    # An ARQC made for another amount is as bad.
    card, _ = chip_card(chip, 8_000)
    assert term.sale(8_800, card, chip["pin"])[1].get(39) == "05"
    _nothing_moved(host, before, n)
    good, _ = chip_card(chip, 8_800, atc=2)
    assert term.sale(8_800, good, chip["pin"])[1].get(39) == "00"


def test_chip_card_refund_and_void(host: Host, term: TestTerminal) -> None:
    chip = demo_cards("chip")[0]
    card, _ = chip_card(chip, 5_000, atc=3)
    sale = term.sale(5_000, card, chip["pin"])
    assert sale[1].get(39) == "00"
    # A refund says in F22 that the chip was read but carries no 23/55 (§3).
    req, resp = term.refund(2_000, card, sale)
    assert req.get(22) == "052" and not {23, 55} & set(req.fields)
    assert resp.get(39) == "00"
    assert host.card_balance(chip) == chip["balance"] - 3_000
    sale2 = term.sale(700, chip_card(chip, 700, atc=4)[0], chip["pin"])
    assert term.void(700, chip_card(chip, 700, atc=5)[0], sale2)[1].get(39) == "00"
    assert host.card_balance(chip) == chip["balance"] - 3_000


def test_qr_code_pays_once(host: Host, term: TestTerminal) -> None:
    q = DEMO["qr_codes"][0]
    start = host.wallet_balance(q["wallet"])
    req, resp = term.sale(6_600, Card.qr(q["code"]))
    assert req.get(22) == "032" and resp.get(39) == "00"
    assert host.wallet_balance(q["wallet"]) == start - 6_600 and host.merchant_balance() == 6_600
    before, n = _snapshot(host)
    assert term.sale(100, Card.qr(q["code"]))[1].get(39) == "14"
    assert term.sale(100, Card.qr("281234567890123456"))[1].get(39) == "14"
    _nothing_moved(host, before, n)
    # Another code of the same wallet still pays.
    other = next(c for c in DEMO["qr_codes"][1:] if c["wallet"] == q["wallet"])
    assert term.sale(400, Card.qr(other["code"]))[1].get(39) == "00"
    assert host.wallet_balance(q["wallet"]) == start - 7_000


def test_wallet_issue_code_pays_once(host: Host, term: TestTerminal) -> None:
    runner = CliRunner()
    # Beside a SQLite file the key file needs no naming; a PostgreSQL host's does.
    keys = [] if host.backend == "sqlite" else ["--keys", str(host.keys)]
    result = runner.invoke(app, ["wallet", "issue-code", "--db", str(host.db), *keys,
                                 "--wallet", "W001"])
    assert result.exit_code == 0, result.output
    code = result.stdout.strip()
    assert re.fullmatch(r"\d{18}", code)
    assert code not in {q["code"] for q in DEMO["qr_codes"]}
    start = host.wallet_balance("W001")
    assert term.sale(1_234, Card.qr(code))[1].get(39) == "00"
    assert host.wallet_balance("W001") == start - 1_234
    assert term.sale(1_234, Card.qr(code))[1].get(39) == "14"
    assert host.wallet_balance("W001") == start - 1_234
    again = runner.invoke(app, ["wallet", "issue-code", "--db", str(host.db), *keys,
                                "--wallet", "W001"])
    assert again.exit_code == 0 and again.stdout.strip() != code
    bad = runner.invoke(app, ["wallet", "issue-code", "--db", str(host.db), *keys,
                              "--wallet", "W999"])
    assert bad.exit_code != 0


def test_wallet_issue_code_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(app, ["wallet", "issue-code", "--db", str(missing),
                                      "--wallet", "W001"])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []  # neither the db nor a keys file with random keys


# -- over real TCP -----------------------------------------------------------------------------
class _ThreadedHost:
    """steadypos.host.app.build() served by an asyncio loop in a thread."""

    def __init__(self, db: Path) -> None:
        self.server = host_app.build(db, f"{db}.keys", port=0, seed_demo=True, synchronous="OFF")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        _, self.port = asyncio.run_coroutine_threadsafe(self.server.start(),
                                                        self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.server.writer.stop()
        self.loop.close()


@pytest.fixture
def tcp_host(tmp_path: Path) -> Iterator[_ThreadedHost]:
    h = _ThreadedHost(tmp_path / "tcp.db")
    yield h
    h.close()


def _exchange(conn: Connection, msg: Message, keys: WorkingKeys | None) -> Message:
    if keys is not None:
        msg = mac.sign(msg, keys.mak)
    resp = conn.exchange(msg)
    if mac.needs_mac(resp):
        assert keys is not None and mac.verify(resp, keys.mak)
    return resp


def test_tcp_sale_repeat_and_reversal(tcp_host: _ThreadedHost, tmp_path: Path) -> None:
    t = DEMO["terminals"][0]
    st = builders.Station(t["tid"], t["mid"])
    card = rich_card()
    with Connection("127.0.0.1", tcp_host.port, read_timeout=10) as conn:
        resp = _exchange(conn, builders.sign_in(st, 1, 1), None)
        assert resp.get(39) == "00" and resp.tpdu == st.tpdu.swapped()
        keys = unpack_key_block(bytes.fromhex(t["tmk"]), bytes.fromhex(resp.get(62)))
        sale = builders.sale(st, 2, 1, 9_900, swipe(card), card["pin"], keys.pik)
        first = _exchange(conn, sale, keys)
        assert first.get(39) == "00"
        assert _exchange(conn, sale, keys).get(37) == first.get(37)
        assert _exchange(conn, builders.reversal(sale, "98"), keys).get(39) == "00"
    # One request per connection works as well.
    with Connection("127.0.0.1", tcp_host.port, read_timeout=10) as conn:
        stale = WorkingKeys.fresh()
        resp = _exchange(conn, builders.sale(st, 3, 1, 100, swipe(card), card["pin"], stale.pik),
                         stale)
        assert resp.get(39) == "A0"
    store = open_store(tmp_path / "tcp.db")
    try:
        report = check(store)
        assert report.ok, report.problems
        kinds = [k for _, k, _, _, _ in store.posting_sums()]
        assert kinds.count("sale") == 1 and kinds.count("reversal") == 1
    finally:
        store.close()


def test_host_subprocess_serves_and_stops(tmp_path: Path, cli_env: dict[str, str]) -> None:
    db = tmp_path / "sub.db"
    proc = subprocess.Popen([STEADYPOS, "host", "--db", str(db), "--port", "0", "--seed-demo"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.fullmatch(r"listening on ([\d.]+):(\d+)\n", line)
        assert m, line
        t = DEMO["terminals"][2]
        st = builders.Station(t["tid"], t["mid"])
        q = DEMO["qr_codes"][1]
        with Connection(m.group(1), int(m.group(2)), read_timeout=10) as conn:
            resp = _exchange(conn, builders.sign_in(st, 1, 1), None)
            keys = unpack_key_block(bytes.fromhex(t["tmk"]), bytes.fromhex(resp.get(62)))
            assert _exchange(conn, builders.sale(st, 2, 1, 300, Card.qr(q["code"])),
                             keys).get(39) == "00"
            assert _exchange(conn, builders.sale(st, 3, 1, 300, Card.qr(q["code"])),
                             keys).get(39) == "14"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    out = subprocess.run([STEADYPOS, "ledger", "check", "--db", str(db)], capture_output=True,
                         text=True, env=cli_env, timeout=30)
    assert out.returncode == 0 and "ledger balanced" in out.stdout
    assert f"wallet:{q['wallet']}" in out.stdout
