"""pos-link-v1 §6, one rule at a time: what the journal holds (txn state and step, the reversal
record and its reason), what went over the wire (the proxy's record) and where the money is (the
host's ledger)."""

from __future__ import annotations

from typing import Any

import pytest
from rig import CARD, CARD2, KILLED, Proxy, TerminalRig, closed_port, keystore, wrong_pin

from steadypos.protocol.fields import Field60


def _stan(ran: Any) -> int:
    return int(ran.data["stan"])


def test_rule1_sale_and_void_reversible_refund_balance_not(signed: TerminalRig) -> None:
    """Rule 1: sale and void store a reversal record before sending; refund and balance don't."""
    sale = signed.sale()
    void = signed.cli("void", "--stan", str(_stan(sale)))
    sale2 = signed.sale("5.00")
    refund = signed.cli("refund", "--stan", str(_stan(sale2)), "--amount", "1.00")
    bal = signed.cli("balance", "--track2", CARD["track2"], "--pin", CARD["pin"])
    assert [r.code for r in (sale, void, sale2, refund, bal)] == [0, 0, 0, 0, 0]
    view = signed.view()
    for ran in (sale, void, sale2):
        assert "reversal_stored" in view.steps_of(_stan(ran))
    for ran in (refund, bal):
        assert "reversal_stored" not in view.steps_of(_stan(ran))
    assert view.reversals == []


def test_rule2_record_stored_before_send(signed: TerminalRig) -> None:
    """Rule 2: killed right after the record is stored: the record (reason 98) is on disk and
    the host saw nothing."""
    before = signed.host.card_balance(CARD)
    seen = len(signed.proxy.seen)
    ran = signed.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                       CARD["pin"], kill_at="reversal_stored")
    assert ran.code == KILLED
    view = signed.view()
    txn = view.txns[-1]
    assert (txn["kind"], txn["state"], txn["step"]) == ("sale", "in_progress", "reversal_stored")
    rec = view.reversal_of(txn["stan"])
    assert rec is not None and rec["reason"] == "98" and rec["attempts"] == 0
    # The record is the 0400 to send: the sale's STAN and amount, reason 98, no PIN, no track 2,
    # and the card number sealed, never in clear.
    assert rec["fields"][11] == f"{txn['stan']:06d}" and rec["fields"][4] == "000000001234"
    assert rec["fields"][39] == "98"
    assert not {26, 35, 52, 53} & rec["fields"].keys()
    assert rec["fields"][2].startswith("sealed:") and CARD["pan"] not in rec["fields"][2]
    assert signed.proxy.seen[seen:] == []
    assert signed.host.txns(txn["stan"]) == []
    assert signed.host.card_balance(CARD) == before


def test_rule3_nothing_sent_record_deleted(signed: TerminalRig) -> None:
    """Rule 3: the host's port is closed, nothing is sent: failed, exit 1, no record."""
    before = signed.host.card_balance(CARD)
    signed.proxy.down()
    ran = signed.sale()
    assert ran.code == 1, ran.output
    assert ran.data["result"] == "failed" and ran.data["reversal_pending"] is False
    assert "not charged" in ran.data["message"]
    view = signed.view()
    txn = view.txn(_stan(ran))
    assert (txn["state"], txn["step"]) == ("failed", "flow_aborted")
    assert view.steps_of(_stan(ran))[-2:] == ["reversal_stored", "flow_aborted"]
    assert view.reversals == []
    assert signed.host.txns(_stan(ran)) == []
    assert signed.host.card_balance(CARD) == before


def test_rule3_unreachable_before_sign_in(tmp_path: Any, host: Any, proxy: Proxy) -> None:
    """Nothing to connect to at all: exit 1 and no transaction, no record."""
    t = TerminalRig(tmp_path, host, proxy)
    t.init(port=closed_port())
    ran = t.sale()
    assert ran.code == 1 and ran.data["result"] == "failed"
    assert t.view().txns == [] and t.view().reversals == []


def test_rule4_timeout_keeps_record_then_next_sale_reverses(term: TerminalRig) -> None:
    """Rule 4: the host takes the money but its answer never arrives (timeout 1 s): exit 3,
    pending_reversal, record 98; back on a good link the next sale sends that 0400 first and
    the money comes back."""
    term.set_config(timeout="1")
    term.sign_in()
    before = term.host.card_balance(CARD)
    term.proxy.set("swallow", "0200")
    ran = term.sale("12.34")
    assert ran.code == 3, ran.output
    assert ran.data["result"] == "failed" and ran.data["reversal_pending"] is True
    stan = _stan(ran)
    view = term.view()
    txn = view.txn(stan)
    assert (txn["state"], txn["step"]) == ("pending_reversal", "request_sent")
    rec = view.reversal_of(stan)
    assert rec is not None and rec["reason"] == "98"
    assert term.host.card_balance(CARD) == before - 1234  # the host did take it

    term.proxy.set("forward")
    mark = len(term.proxy.seen)
    ran2 = term.sale("1.00")
    assert ran2.code == 0, ran2.output
    assert term.proxy.mtis(mark) == ["0400/98", "0200"]
    rev = term.proxy.seen[mark]
    assert rev.get(11) == f"{stan:06d}" and rev.get(4) == "000000001234"
    assert term.host.card_balance(CARD) == before - 100
    view = term.view()
    assert view.txn(stan)["state"] == "reversed" and view.reversals == []
    assert any(f"{stan:06d}" in line and "reversed: not charged" in line
               for line in ran2.recovered)


def test_rule5_bad_response_mac(signed: TerminalRig) -> None:
    """Rule 5: the approval's MAC fails (a bit of F64 flipped on the way): record A0, keys
    dropped; the next command signs in first, then sends the 0400 with F39 = A0."""
    before = signed.host.card_balance(CARD)
    signed.proxy.set("flip_mac")
    ran = signed.sale("12.34")
    assert ran.code == 3, ran.output
    assert ran.data["result"] == "failed" and ran.data["reversal_pending"] is True
    assert "MAC" in ran.data["message"]
    stan = _stan(ran)
    view = signed.view()
    txn = view.txn(stan)
    assert (txn["state"], txn["step"], txn["rc"]) == ("pending_reversal", "response_received",
                                                      "00")
    rec = view.reversal_of(stan)
    assert rec is not None and rec["reason"] == "A0"
    assert "working" not in keystore(signed.journal)
    assert signed.host.card_balance(CARD) == before - 1234
    events = [e for e in signed.events() if e["type"] == "txn" and e["phase"] == "mac_fail"]
    assert events and events[-1]["stan"] == f"{stan:06d}"

    signed.proxy.set("forward")
    mark = len(signed.proxy.seen)
    ran2 = signed.sale("2.00", card=CARD2)
    assert ran2.code == 0, ran2.output
    assert signed.proxy.mtis(mark) == ["0800", "0400/A0", "0200"]
    assert signed.proxy.seen[mark + 1].get(11) == f"{stan:06d}"
    assert signed.host.card_balance(CARD) == before
    assert "working" in keystore(signed.journal)
    view = signed.view()
    assert view.txn(stan)["state"] == "reversed" and view.reversals == []


def test_rule6_declined_deletes_record(signed: TerminalRig) -> None:
    """Rule 6: wrong PIN, 55: declined, exit 1, no record, nothing moved."""
    before = signed.host.card_balance(CARD)
    ran = signed.sale(pin=wrong_pin(CARD))
    assert ran.code == 1, ran.output
    assert (ran.data["result"], ran.data["rc"]) == ("declined", "55")
    view = signed.view()
    stan = _stan(ran)
    txn = view.txn(stan)
    assert (txn["state"], txn["rc"]) == ("declined", "55")
    assert "reversal_stored" in view.steps_of(stan)
    assert view.reversals == []
    assert signed.host.card_balance(CARD) == before
    # Nothing pending: the next message is a plain sale.
    mark = len(signed.proxy.seen)
    assert signed.sale("1.00").code == 0
    assert signed.proxy.mtis(mark) == ["0200"]


def test_rule7_journal_first_then_clear(signed: TerminalRig) -> None:
    """Rule 7: killed between the journal entry and the record's deletion: the record is there
    with reason 96; recover sends the 96 reversal, the money comes back, the sale is reversed."""
    before = signed.host.card_balance(CARD)
    ran = signed.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                       CARD["pin"], kill_at="journal_written")
    assert ran.code == KILLED
    view = signed.view()
    txn = view.txns[-1]
    stan = txn["stan"]
    assert txn["step"] == "journal_written" and txn["rc"] == "00" and txn["auth_code"]
    rec = view.reversal_of(stan)
    assert rec is not None and rec["reason"] == "96"
    assert signed.host.card_balance(CARD) == before - 1234

    mark = len(signed.proxy.seen)
    rec_ran = signed.cli("recover")
    assert rec_ran.code == 0, rec_ran.output
    assert signed.proxy.mtis(mark) == ["0400/96"]
    assert signed.proxy.seen[mark].get(38) == txn["auth_code"]  # §3: +38, a response came
    assert signed.host.card_balance(CARD) == before
    view = signed.view()
    assert view.txn(stan)["state"] == "reversed" and view.reversals == []
    assert signed.host.txns(stan)[0]["state"] == "reversed"


def _pending(t: TerminalRig, amount: str = "12.34") -> int:
    """A sale whose answer never reached the terminal (the host dropped the line after
    charging): returns its STAN, left pending_reversal."""
    t.proxy.set("drop", "0200")
    ran = t.sale(amount)
    assert ran.code == 3, ran.output
    t.proxy.set("forward")
    return _stan(ran)


NEXT_COMMANDS = {
    "sale": (lambda t, ctx: t.sale("1.00", card=CARD2), "0200"),
    "sign-in": (lambda t, ctx: t.cli("sign-in"), "0800"),
    "balance": (lambda t, ctx: t.cli("balance", "--track2", CARD2["track2"],
                                     "--pin", CARD2["pin"]), "0200"),
    "settle": (lambda t, ctx: t.cli("settle"), "0500"),
    "void": (lambda t, ctx: t.cli("void", "--stan", str(ctx)), "0200"),
    "refund": (lambda t, ctx: t.cli("refund", "--stan", str(ctx), "--amount", "0.50"), "0220"),
}


@pytest.mark.parametrize("command", sorted(NEXT_COMMANDS))
def test_rule8_reversal_goes_before_the_next_message(signed: TerminalRig, command: str) -> None:
    """Rule 8: whatever goes online next, the pending 0400 goes first; its 0410 ends it."""
    earlier = signed.sale("3.00", card=CARD2)
    assert earlier.code == 0
    before = signed.host.card_balance(CARD)
    stan = _pending(signed)
    assert signed.host.card_balance(CARD) == before - 1234
    mark = len(signed.proxy.seen)
    run, mti = NEXT_COMMANDS[command]
    ran = run(signed, _stan(earlier))
    assert ran.code == 0, ran.output
    assert signed.proxy.mtis(mark)[:2] == ["0400/98", mti]
    assert signed.proxy.seen[mark].get(11) == f"{stan:06d}"
    assert signed.host.card_balance(CARD) == before
    assert signed.view().reversals == []
    assert signed.view().txn(stan)["state"] == "reversed"


def test_rule8_any_0410_ends_it(signed: TerminalRig) -> None:
    """A reversal of a sale the host never saw answers 00 (a tombstone): that ends it too."""
    ran = signed.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                       CARD["pin"], kill_at="request_sent")
    assert ran.code == KILLED
    stan = signed.view().txns[-1]["stan"]
    mark = len(signed.proxy.seen)
    assert signed.sale("1.00").code == 0
    assert signed.proxy.mtis(mark) == ["0400/98", "0200"]
    assert signed.view().txn(stan)["state"] == "reversed"
    assert signed.host.txns(stan)[0]["kind"] == "tombstone"


def test_rule9_three_attempts_then_blocked_until_recover(term: TerminalRig) -> None:
    """Rule 9: three unanswered attempts, then new sales are refused (exit 4) with a clear
    message; the record stays; `recover` with the host back clears it."""
    term.set_config(timeout="1")
    term.sign_in()
    before = term.host.card_balance(CARD)
    stan = _pending(term)
    term.proxy.set("blackhole", "0400")
    mark = len(term.proxy.seen)
    ran = term.sale("1.00", card=CARD2)
    assert ran.code == 4, ran.output
    assert ran.data["result"] == "blocked" and ran.data["reversal_pending"] is True
    assert f"STAN {stan:06d}" in ran.data["message"] and "no new sale" in ran.data["message"]
    assert term.proxy.mtis(mark) == ["0400/98"] * 3  # and no sale went out
    rec = term.view().reversal_of(stan)
    assert rec is not None and rec["attempts"] == 3 and rec["reason"] == "98"

    # Blocked now even without trying again: no fourth attempt, no sale.
    mark = len(term.proxy.seen)
    again = term.sale("1.00", card=CARD2)
    assert again.code == 4 and "recover" in again.data["message"]
    assert term.proxy.mtis(mark) == []
    assert term.view().reversal_of(stan) is not None
    assert term.host.card_balance(CARD) == before - 1234

    term.proxy.set("forward")
    rec_ran = term.cli("recover")
    assert rec_ran.code == 0, rec_ran.output
    assert any("reversed: not charged" in line for line in rec_ran.recovered)
    assert term.proxy.mtis(mark) == ["0400/98"]
    assert term.view().reversals == [] and term.view().txn(stan)["state"] == "reversed"
    assert term.host.card_balance(CARD) == before
    assert term.sale("1.00", card=CARD2).code == 0


def test_rule9_host_unreachable_blocks_and_keeps_record(signed: TerminalRig) -> None:
    """With the host's port closed a pending reversal cannot go: the sale is refused (exit 4)
    and the record is kept, attempts untouched; when the host is back the next sale clears it."""
    before = signed.host.card_balance(CARD)
    stan = _pending(signed)
    signed.proxy.down()
    ran = signed.sale("1.00", card=CARD2)
    assert ran.code == 4 and "cannot be reached" in ran.data["message"]
    rec = signed.view().reversal_of(stan)
    assert rec is not None and rec["attempts"] == 0
    signed.proxy.up()
    mark = len(signed.proxy.seen)
    assert signed.sale("1.00", card=CARD2).code == 0
    assert signed.proxy.mtis(mark) == ["0400/98", "0200"]
    assert signed.host.card_balance(CARD) == before


def test_void_reversed_restores_the_sale(signed: TerminalRig) -> None:
    """A void is reversible too: a void whose answer is lost is reversed, and the sale it
    voided is approved again on both sides."""
    before = signed.host.card_balance(CARD)
    sale = signed.sale("12.34")
    signed.proxy.set("drop", "0200")
    void = signed.cli("void", "--stan", str(_stan(sale)))
    assert void.code == 3, void.output
    assert signed.host.card_balance(CARD) == before  # the host voided it
    signed.proxy.set("forward")
    mark = len(signed.proxy.seen)
    assert signed.cli("recover").code == 0
    assert signed.proxy.mtis(mark) == ["0400/98"]
    view = signed.view()
    assert view.txn(_stan(void), "void")["state"] == "reversed"
    assert view.txn(_stan(sale), "sale")["state"] == "approved"
    assert signed.host.card_balance(CARD) == before - 1234
    f60 = Field60.parse(signed.proxy.seen[mark].get(60))
    assert f60.batch == 1
