"""Our terminal under the 1.1 batch rules (issue 8, point 6): on 77 it signs in again and tells
the operator to retry, nothing charged; on 12 (a reversal whose original is in a settled batch)
the record goes, the journal shows the original standing, the operator is told to refund, and the
terminal signs in again when that batch was the one it traded in."""

from __future__ import annotations

from rig import CARD, MID, TID, TerminalRig

from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Station
from steadypos.protocol.fields import Field60, Totals
from steadypos.protocol.link import Connection
from steadypos.terminal.keystore import KeyStore


def _settle_behind_its_back(t: TerminalRig, batch: int, totals: Totals) -> None:
    """The host closes the batch without the terminal's journal knowing (a settlement made with
    the terminal's own keys, straight to the host): what a restored or cloned terminal does."""
    working = KeyStore.load(t.journal.with_name(t.journal.name + ".keys")).working
    assert working is not None
    req = builders.settle(Station(TID, MID), 900_100, batch, totals)
    with Connection("127.0.0.1", t.host.port, read_timeout=10) as conn:
        assert conn.exchange(mac.sign(req, working.mak)).get(39) == "00"


def test_77_signs_in_again_and_says_retry(signed: TerminalRig) -> None:
    first = signed.sale("10.00")
    assert first.code == 0 and first.data["batch"] == "000001"
    _settle_behind_its_back(signed, 1, Totals(1_000, 1))
    before = signed.host.card_balance(CARD)
    ran = signed.sale("20.00")
    assert ran.code == 1 and ran.data["rc"] == "77", ran.output
    assert "signed in again, now in batch 000002: not charged, retry the payment" \
        in ran.data["message"]
    assert signed.host.card_balance(CARD) == before
    view = signed.view()
    assert view.txn(int(ran.data["stan"]))["state"] == "declined" and view.reversals == []
    assert view.counters["batch"] == 2
    assert signed.proxy.mtis()[-2:] == ["0200", "0800"]
    again = signed.sale("20.00")
    assert again.code == 0 and again.data["batch"] == "000002"
    assert signed.host.card_balance(CARD) == before - 2_000


def test_12_the_original_stands_and_must_be_refunded(signed: TerminalRig) -> None:
    start = signed.host.card_balance(CARD)
    signed.proxy.set("swallow", "0200")  # the host approves, the answer never arrives
    lost = signed.sale("30.00")
    assert lost.code == 3 and lost.data["reversal_pending"], lost.output
    stan = int(lost.data["stan"])
    signed.proxy.set("forward")
    _settle_behind_its_back(signed, 1, Totals(3_000, 1))  # batch 1 closes with the sale in it
    ran = signed.cli("recover")
    assert ran.code == 0, ran.output
    (line,) = [r for r in ran.data["recovered"] if "reversal refused (12)" in r]
    assert "the sale stands and the card is charged: refund it" in line
    assert signed.proxy.mtis()[-2:] == ["0400/98", "0800"]  # and it learns the open batch
    view = signed.view()
    txn = view.txn(stan)
    assert (txn["state"], txn["step"], txn["rc"]) == ("approved", "reversal_refused", "12")
    assert txn["rrn"] and view.reversal_of(stan) is None
    assert "reversal_refused" in view.steps_of(stan)
    assert signed.host.card_balance(CARD) == start - 3_000  # the host has it: charged
    assert view.counters["batch"] == 2
    # The operator does what it says: the refund gives the money back.
    refund = signed.cli("refund", "--stan", str(stan), "--amount", "30.00")
    assert refund.code == 0, refund.output
    assert signed.host.card_balance(CARD) == start
    assert Field60.parse(signed.proxy.seen[-1].get(60)).batch == 2
