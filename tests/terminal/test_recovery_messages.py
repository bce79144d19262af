"""Interrupted flows are never silent: a sale killed after any step is told about by the next
command, in its output (`recovered`) and in the event log (`recovery`), with what happened to
the money, and the money is where the message says."""

from __future__ import annotations

import pytest
from rig import CARD, CARD2, KILLED, TerminalRig, receipts

from steadypos.terminal.texts import english

NOT_SENT = english("terminal.recovery.not_sent")
REVERSED = english("terminal.recovery.reversed")
CHARGED = english("terminal.recovery.reprinted")

AMOUNT = 1234

KILL_POINTS = {
    "flow_started": NOT_SENT,
    "card_read": NOT_SENT,
    "pin_captured": NOT_SENT,
    "request_packed": NOT_SENT,
    "reversal_stored": NOT_SENT,
    "request_sent": REVERSED,
    "response_received": REVERSED,
    "journal_written": REVERSED,
    "reversal_cleared": CHARGED,
}


def _killed_sale(t: TerminalRig, step: str) -> int:
    ran = t.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                  CARD["pin"], kill_at=step)
    assert ran.code == KILLED, ran.output
    return int(t.view().txns[-1]["stan"])


@pytest.mark.parametrize("step", list(KILL_POINTS))
def test_next_command_tells_what_happened(signed: TerminalRig, step: str) -> None:
    expected = KILL_POINTS[step]
    before = signed.host.card_balance(CARD)
    stan = _killed_sale(signed, step)

    ran = signed.cli("recover")
    assert ran.code == 0, ran.output
    told = [line for line in ran.recovered if f"STAN {stan:06d}" in line]
    assert any(expected in line for line in told), told
    assert all(CARD["pan"] not in line for line in told)
    recovery = [e for e in signed.events() if e["type"] == "recovery"]
    assert any(e["stan"] == f"{stan:06d}" and expected in e["outcome"] for e in recovery)

    txn = signed.view().txn(stan)
    assert signed.view().reversals == []
    if expected == NOT_SENT:
        assert txn["state"] == "failed"
        assert signed.host.card_balance(CARD) == before
        assert signed.host.txns(stan) == []
    elif expected == REVERSED:
        assert txn["state"] == "reversed"
        assert signed.host.card_balance(CARD) == before
    else:
        assert txn["state"] == "approved"
        assert signed.host.card_balance(CARD) == before - AMOUNT
        receipt = receipts(signed.journal)[f"000001-{stan:06d}.txt"]
        assert "REPRINT" in receipt and txn["rrn"] in receipt and txn["auth_code"] in receipt

    # Told once: the command after that has nothing more to say about it.
    again = signed.cli("journal")
    assert again.code == 0
    assert signed.cli("recover").recovered == []


@pytest.mark.parametrize("step", ["card_read", "request_sent"])
def test_a_sale_after_the_kill_tells_it_too(signed: TerminalRig, step: str) -> None:
    """Not only `recover`: whatever command comes next (here a sale, in the console's own
    words) tells the operator first."""
    stan = _killed_sale(signed, step)
    ran = signed.cli("sale", "--amount", "1.00", "--track2", CARD2["track2"], "--pin",
                     CARD2["pin"], as_json=False)
    assert ran.code == 0
    text = " ".join(ran.output.split())
    assert f"unfinished sale STAN {stan:06d}" in text
    assert KILL_POINTS[step] in text


def test_journal_shows_the_interrupted_sale_pending(signed: TerminalRig) -> None:
    """Between the kill after the answer and the reversal, the journal does not call the sale
    approved: it is pending reversal (and it says so when opened)."""
    stan = _killed_sale(signed, "journal_written")
    ran = signed.cli("journal")
    row = next(r for r in ran.data["transactions"] if r["stan"] == f"{stan:06d}")
    assert row["state"] == "pending_reversal"


def test_killed_refund_is_resent_and_completed(signed: TerminalRig) -> None:
    """A refund is not reversible: killed after the host answered, recover re-sends it, the
    host answers the same again without moving money twice, and the journal completes it."""
    sale = signed.sale("20.00")
    assert sale.code == 0
    after_sale = signed.host.card_balance(CARD)
    ran = signed.spawn("refund", "--stan", sale.data["stan"], "--amount", "5.00",
                       kill_at="response_received")
    assert ran.code == KILLED
    refund = signed.view().txns[-1]
    assert refund["kind"] == "refund" and refund["state"] == "in_progress"
    assert signed.host.card_balance(CARD) == after_sale + 500

    rec = signed.cli("recover")
    assert rec.code == 0, rec.output
    view = signed.view()
    assert view.txn(refund["stan"], "refund")["state"] == "approved"
    assert view.txn(int(sale.data["stan"]), "sale")["refunded"] == 500
    assert signed.host.card_balance(CARD) == after_sale + 500
    assert any(f"STAN {refund['stan']:06d}" in line for line in rec.recovered)
