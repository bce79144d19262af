"""Batches as §7 of pos-link-v1.1 (issue 8, point 6): after a settlement every late move is
refused and moves nothing (77 for another batch, 12 for a reversal into a settled batch), and at
every moment each merchant's ledger balance is the sum of its settled batches plus its open ones."""

from __future__ import annotations

from collections import defaultdict

from hostkit import DEMO, Host, TestTerminal, rich_card, swipe

from steadypos.host import registry
from steadypos.host.ledger import check
from steadypos.host.settlement import host_totals
from steadypos.protocol import builders
from steadypos.protocol.fields import Field60, Totals


def _net(totals: Totals) -> int:
    return totals.debit_total - totals.credit_total


def assert_batches_cover_the_ledger(host: Host) -> None:
    """Per merchant: settled batch totals + open batch totals == ledger balance, and no money
    sits in a batch that is neither settled nor open."""
    by_merchant: dict[str, int] = defaultdict(int)
    for info in registry.terminals(host.store):
        settled = host.store.settled_batches(info.tid)
        for batch in [*settled, info.batch]:
            by_merchant[info.mid] += _net(host_totals(host.store, info.tid, batch))
        moved = {t.batch for t in host.store.terminal_txns(info.tid)
                 if t.kind in ("sale", "refund") and t.state == "approved"}
        assert moved <= {*settled, info.batch}, (info.tid, moved, settled, info.batch)
    for t in DEMO["terminals"]:
        assert host.merchant_balance(t["mid"]) == by_merchant[t["mid"]], t["mid"]
    assert check(host.store).ok


def _day(host: Host, term: TestTerminal, k: int) -> dict[str, tuple]:
    card, other = rich_card(k), rich_card(k + 1)
    s = {n: term.sale(amount, swipe(card), card["pin"])
         for n, amount in (("kept", 1_000), ("voided", 2_000), ("refunded", 9_000),
                           ("reversed", 3_000), ("late", 4_000))}
    s["declined"] = term.sale(100, swipe(other), "000000" if other["pin"] != "000000" else
                              "111111")  # wrong PIN: 55
    assert term.void(2_000, swipe(card), s["voided"])[1].get(39) == "00"
    s["void"] = term.void(4_000, swipe(card), s["late"])  # voided, then its void reversed late
    assert term.refund(1_500, swipe(card), s["refunded"])[1].get(39) == "00"
    assert term.reverse(s["reversed"][0])[1].get(39) == "00"
    assert_batches_cover_the_ledger(host)
    return s


def test_every_late_move_after_settlement(host: Host) -> None:
    terms = [TestTerminal(host, t["tid"]) for t in DEMO["terminals"]]
    days = {}
    for k, term in enumerate(terms):
        assert term.sign_in().get(39) == "00"
        days[term.station.tid] = _day(host, term, k)
    t1 = terms[0]
    totals = host_totals(host.store, "T0000001", 1)
    assert t1.settle(totals)[1].get(48)[30] == "1"  # balanced; the others stay open
    assert_batches_cover_the_ledger(host)
    before = (host.balances(), len(host.postings()))
    d, card = days["T0000001"], rich_card(0)

    def late(rc: str, resp_of: tuple) -> None:
        assert resp_of[1].get(39) == rc, (rc, resp_of[1].get(39))
        assert (host.balances(), len(host.postings())) == before
        assert_batches_cover_the_ledger(host)

    # The terminal still thinks it is in batch 1: every money move there is 77.
    late("77", t1.sale(500, swipe(card), card["pin"]))
    late("77", t1.void(1_000, swipe(card), d["kept"]))
    late("77", t1.refund(100, swipe(card), d["refunded"]))
    for batch in (999_999, 0o7):
        req = builders.sale(t1.station, t1.next_stan(), batch, 500, swipe(card), card["pin"],
                            t1.keys.pik)  # type: ignore[union-attr]
        late("77", (req, t1.send(req)))
    # Reversals of what the settled batch holds: it stands (12, with its RRN to refund it).
    rev = t1.reverse(d["kept"][0])
    late("12", rev)
    assert rev[1].get(37) == d["kept"][1].get(37)
    late("12", t1.reverse(d["refunded"][0]))
    late("12", t1.reverse(d["void"][0]))  # undoing the void would charge the sale again
    # What moves nothing anyway is answered as before.
    late("00", t1.reverse(d["declined"][0]))
    late("00", t1.reverse(d["voided"][0]))
    lost = builders.sale(t1.station, 990, 1, 700, swipe(card))
    late("00", t1.reverse(lost))  # unknown: a tombstone
    late("00", t1.settle(totals, batch=1))  # settling the closed batch again: same totals
    late("77", t1.settle(totals, batch=5))  # a batch that was never open
    assert registry.terminal_info(host.store, "T0000001").batch == 2  # type: ignore[union-attr]
    # The right way on: sign in (batch 2), trade, refund an old sale in the new batch.
    assert Field60.parse(t1.sign_in().get(60)).batch == 2
    assert t1.sale(600, swipe(card), card["pin"])[1].get(39) == "00"
    assert t1.refund(1_000, swipe(card), d["kept"])[1].get(39) == "00"
    assert t1.void(1_000, swipe(card), d["kept"])[1].get(39) == "25"  # not of this batch
    assert_batches_cover_the_ledger(host)
    merchant_a = [t["tid"] for t in DEMO["terminals"] if t["mid"] == t1.mid]
    assert len(merchant_a) == 3
    assert host.merchant_balance() == sum(
        _net(host_totals(host.store, tid, b)) for tid in merchant_a for b in (1, 2))
