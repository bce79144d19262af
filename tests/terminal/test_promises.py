"""Messages that name a command keep their word: after a lost answer to a refund or to a
settlement, the message says `recover`, and recover learns the outcome from the host without
moving money twice or closing a batch twice."""

from __future__ import annotations

from contextlib import closing

from rig import CARD, TID, TerminalRig

from steadypos.host.sqlite_store import read_only


def test_a_refund_whose_answer_was_lost_says_recover_and_recover_learns_it(
        signed: TerminalRig) -> None:
    sale = signed.sale("20.00")
    after_sale = signed.host.card_balance(CARD)
    signed.proxy.set("drop", "0220")
    lost = signed.cli("refund", "--stan", sale.data["stan"], "--amount", "5.00")
    assert lost.code == 1 and "run recover to learn the outcome" in lost.data["message"]
    assert signed.host.card_balance(CARD) == after_sale + 500  # the host refunded it
    signed.proxy.set("forward")
    ran = signed.cli("recover")
    assert ran.code == 0 and ran.data["message"] == "recovered", ran.output
    refund = next(t for t in signed.view().txns if t["kind"] == "refund")
    assert refund["state"] == "approved"
    assert signed.host.card_balance(CARD) == after_sale + 500  # once, not twice
    assert signed.cli("recover").data["message"] == "nothing pending"


def test_a_settlement_whose_answer_was_lost_says_recover_and_recover_closes_it_once(
        signed: TerminalRig) -> None:
    assert signed.sale("10.00").code == 0
    signed.proxy.set("drop", "0500")
    lost = signed.cli("settle")
    assert lost.code == 1 and "recover re-sends it" in lost.data["message"]
    signed.proxy.set("forward")
    ran = signed.cli("recover")
    assert ran.code == 0 and any("settlement re-sent" in line and "balanced" in line
                                 for line in ran.recovered), ran.output
    with closing(read_only(signed.host.db)) as conn:
        rows = conn.execute("SELECT tid, batch FROM settlements").fetchall()
    assert rows == [(TID, 1)]
    assert signed.sale("1.00").data["batch"] == "000002"
