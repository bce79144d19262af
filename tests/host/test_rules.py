"""The host's rules (point 5): sign-in and keys, card checks, void/refund, balance, idempotency,
reversal and tombstones. Exact F39, exact fen, and the ledger after each step, in-process;
settlement, chip, QR and real TCP are in test_rules_settlement.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hostkit import (
    MID_A,
    SALE_RESPONSE,
    Host,
    TestTerminal,
    demo_cards,
    low_card,
    nothing_moved,
    rich_card,
    snapshot,
    swipe,
)

from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import Totals, parse_balance
from steadypos.protocol.frame import PROC_SIGN_IN
from steadypos.protocol.messages import BY_NAME

DECLINE_RESPONSE = {2, 3, 4, 11, 12, 13, 25, 39, 41, 42, 49, 60, 64}


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
    before, n = snapshot(host)
    _, resp = term.sale(1000, swipe(card), card["pin"], keys=old)
    assert resp.mti == "0210" and resp.get(39) == "A0"
    assert 64 not in resp and resp.header.proc == PROC_SIGN_IN
    nothing_moved(host, before, n)
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
    before, n = snapshot(host)
    card = rich_card()
    _, resp = t.sale(1000, swipe(card), keys=WorkingKeys.fresh())
    assert resp.get(39) == "03" and 64 not in resp
    nothing_moved(host, before, n)


def test_never_signed_in_gets_97(host: Host) -> None:
    t = TestTerminal(host, "T0000002")
    card = rich_card()
    before, n = snapshot(host)
    _, resp = t.sale(1000, swipe(card), card["pin"], keys=WorkingKeys.fresh())
    assert resp.get(39) == "97" and 64 not in resp and resp.header.proc == PROC_SIGN_IN
    nothing_moved(host, before, n)
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
    before, n = snapshot(host)
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "55"
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "55"
    assert term.sale(100, swipe(card), _wrong_pin(card))[1].get(39) == "75"
    # Locked: the right PIN does not help, nor does a balance inquiry.
    assert term.sale(100, swipe(card), card["pin"])[1].get(39) == "75"
    assert term.balance(swipe(card), card["pin"])[1].get(39) == "75"
    nothing_moved(host, before, n)
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
    before, n = snapshot(host)
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
    nothing_moved(host, before, n)
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
    before, n = snapshot(host)
    assert term.void(5_000, swipe(card), sale)[1].get(39) == "25"
    nothing_moved(host, before, n)


def test_void_not_found_or_not_matching(host: Host, term: TestTerminal) -> None:
    card, other = rich_card(0), rich_card(1)
    sale = term.sale(5_000, swipe(card), card["pin"])
    declined = term.sale(5_000, swipe(card), _wrong_pin(card))
    before, n = snapshot(host)
    missing = (builders.sale(term.station, 999, 1, 5_000, swipe(card)), sale[1])
    assert term.void(5_000, swipe(card), missing)[1].get(39) == "25"
    assert term.void(5_000, swipe(card), declined, rrn="000000000001")[1].get(39) == "25"
    assert term.void(4_999, swipe(card), sale)[1].get(39) == "22"
    assert term.void(5_000, swipe(other), sale)[1].get(39) == "22"
    assert term.void(5_000, swipe(card), sale, rrn="999999999999")[1].get(39) == "22"
    nothing_moved(host, before, n)
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
    before, n = snapshot(host)
    assert term.refund(1, swipe(card), sale)[1].get(39) == "13"
    assert term.refund(1, swipe(rich_card(1)), sale)[1].get(39) == "22"
    assert term.refund(1, swipe(card), sale, rrn="999999999999")[1].get(39) == "22"
    nothing_moved(host, before, n)
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
    before, n = snapshot(host)
    stan = int(req.get(11))
    _, resp = term.sale(2_600, swipe(card), card["pin"], stan=stan)
    assert resp.get(39) == "94" and 64 in resp  # MACed: the terminal holds good keys
    _, resp = term.sale(2_500, swipe(rich_card(1)), rich_card(1)["pin"], stan=stan)
    assert resp.get(39) == "94"
    nothing_moved(host, before, n)


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
    before, n = snapshot(host)
    # Sent again: the same answer, nothing moves. With another reason or the auth code: same.
    assert term.send(rev_req).get(39) == "00"
    assert term.reverse(sale_req, "A0")[1].get(39) == "00"
    assert term.reverse(sale_req, "96", sale_resp.get(38))[1].get(39) == "00"
    nothing_moved(host, before, n)
    # The sale is gone: a void finds nothing, and the original repeated gets its old answer.
    assert term.void(3_000, swipe(card), (sale_req, sale_resp))[1].get(39) == "25"
    assert term.send(sale_req).get(39) == "00"
    nothing_moved(host, before, n)


def test_reversal_of_unknown_original_leaves_a_tombstone(host: Host,
                                                         term: TestTerminal) -> None:
    card = rich_card()
    before, n = snapshot(host)
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
    nothing_moved(host, before, n)


def test_reversal_of_declined_or_mismatched(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    declined, _ = term.sale(100, swipe(card), _wrong_pin(card))
    sale, _ = term.sale(3_000, swipe(card), card["pin"])
    before, n = snapshot(host)
    assert term.reverse(declined)[1].get(39) == "00"
    other_amount = sale.copy()
    other_amount.fields[4] = f"{2_999:012d}"
    assert term.reverse(other_amount)[1].get(39) == "22"
    nothing_moved(host, before, n)
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
