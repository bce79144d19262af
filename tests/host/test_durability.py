"""Durable before visible: SIGKILL the host while terminals stream sales, restart it on the same
database, and account for every sale. An approved answer means the sale is in the ledger exactly
once; a sale whose answer never came is either there or not, and the terminal's repeat and
reversal (§6, §7) settle it, so every card ends at opening balance less what was approved. On
each store: a SQLite file, and a fresh PostgreSQL schema."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hostkit import BACKENDS
from hostproc import DemoTerminal, balances, card_accounts, peek
from support.processes import host_process, ledger_check
from support.world import DEMO, rich_cards

from steadypos.host.ledger import merchant_account
from steadypos.protocol import builders
from steadypos.protocol.link import LinkError

TERMINALS = 3  # the demo's; two connections each (a sign-in re-keys its whole terminal)
APPROVED_BEFORE_KILL = 200


@dataclass
class Sale:
    stan: int
    amount: int
    card: dict[str, Any]
    rc: str | None = None  # None: sent, no answer
    rrn: str = ""  # of the answer, or of the stored one when unanswered but processed


@dataclass
class Stream:
    """One terminal's sales, in order, and how each ended."""

    index: int  # of the demo terminal
    sales: list[Sale] = field(default_factory=list)
    error: BaseException | None = None

    def approved(self) -> list[Sale]:
        return [s for s in self.sales if s.rc == "00"]

    def unanswered(self) -> list[Sale]:
        return [s for s in self.sales if s.rc is None]


def stream(term: DemoTerminal, st: Stream, card: dict[str, Any]) -> None:
    """Sell until the link breaks (the host was killed)."""
    try:
        n = 0
        while True:
            n += 1
            sale = Sale(next(term.stans), 100 + n % 37, card)
            req = term.sale(sale.amount, sale.card, stan=sale.stan)
            try:
                term.connect()
            except LinkError:
                return  # nothing sent
            st.sales.append(sale)
            resp = term.exchange(req)
            sale.rc, sale.rrn = resp.get(39), resp.get(37)
    except LinkError:
        pass
    except BaseException as exc:  # reported by the test
        st.error = exc
    finally:
        term.close()


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_sigkill_mid_stream_loses_nothing_approved_and_reversals_settle_the_rest(
        store_url: str, tmp_path: Path) -> None:
    db = store_url
    keys = tmp_path / "host.keys"
    cards = rich_cards()
    streams = [Stream(i % TERMINALS) for i in range(2 * TERMINALS)]
    with host_process(db, keys=keys) as h:
        opening = balances(db)
        terms = [DemoTerminal(h.host, h.port, i, timeout=5) for i in range(TERMINALS)]
        for t in terms:
            t.sign_in()
            t.close()
        threads = [threading.Thread(target=stream, args=(terms[st.index].twin(), st, cards[i]),
                                    daemon=True) for i, st in enumerate(streams)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while (sum(len(st.approved()) for st in streams) < APPROVED_BEFORE_KILL
               and time.monotonic() < deadline):
            time.sleep(0.005)
        h.kill()  # SIGKILL, mid-stream
        for t in threads:
            t.join(10)
    for st in streams:
        assert st.error is None, st.error
        assert all(s.rc in ("00", None) for s in st.sales), [s.rc for s in st.sales]
    assert sum(len(st.approved()) for st in streams) >= APPROVED_BEFORE_KILL
    _assert_approved_survived(db, streams)

    with host_process(db, seed_demo=False, keys=keys) as h:
        for st in streams:
            with DemoTerminal(h.host, h.port, st.index) as term:
                term.sign_in()  # after a restart, and to show old keys need not survive it
                for s in st.approved()[:5]:
                    # A repeat of an approved sale: the stored answer, no money moves.
                    before = balances(db)
                    again = term.exchange(term.sale(s.amount, s.card, stan=s.stan))
                    assert (again.get(39), again.get(37)) == ("00", s.rrn)
                    assert balances(db) == before
                for s in st.unanswered():
                    # The terminal repeats what it never heard back about (same content, new keys:
                    # new PIN block and MAC), then reverses it.
                    req = term.sale(s.amount, s.card, stan=s.stan)
                    again = term.exchange(req)
                    assert again.get(39) == "00", again.get(39)
                    if s.rrn:  # it had been processed: the stored answer comes back
                        assert again.get(37) == s.rrn
                    rev = term.exchange(builders.reversal(req, "98"))
                    assert rev.get(39) == "00", rev.get(39)
                    _assert_reversed(db, term.tid, s)

        # Each card: opening balance less exactly the sales the terminals saw approved.
        accounts = card_accounts(db, keys)
        after = balances(db)
        for card in cards:
            spent = sum(s.amount for st in streams for s in st.approved() if s.card is card)
            account = accounts[card["pan"]]
            assert after[account] == opening[account] - spent, card["pan"][-4:]
        for mid in {t["mid"] for t in DEMO["terminals"]}:
            took = sum(s.amount for st in streams for s in st.approved()
                       if DEMO["terminals"][st.index]["mid"] == mid)
            assert after.get(merchant_account(mid), 0) == took
    check = ledger_check(db)
    assert check.returncode == 0 and "ledger balanced" in check.stdout, check.stdout


def _assert_approved_survived(db: str, streams: list[Stream]) -> None:
    """Every approved sale survived the kill: one approved txn row, one sale posting, its RRN;
    the unanswered ones learn the RRN of what was processed."""
    with peek(db) as store:
        postings = Counter((kind, ref) for _, kind, ref, _ in store.postings())
        for st in streams:
            tid = DEMO["terminals"][st.index]["tid"]
            for s in st.approved():
                row = store.txn(tid, 1, s.stan, "0200")
                assert row is not None and (row.state, row.rc, row.rrn) == ("approved", "00",
                                                                            s.rrn), (tid, s.stan)
                ref = f"{tid}/000001/{s.stan:06d}"
                assert postings[("sale", ref)] == 1, ref
            processed = {t.stan: t.rrn for t in store.terminal_txns(tid) if t.kind == "sale"}
            for s in st.unanswered():
                s.rrn = processed.get(s.stan, "")


def _assert_reversed(db: str, tid: str, s: Sale) -> None:
    with peek(db) as store:
        row = store.txn(tid, 1, s.stan, "0200")
        ref = f"{tid}/000001/{s.stan:06d}"
        kinds = sorted(kind for _, kind, r, _ in store.postings() if r == ref)
    assert row is not None and row.state == "reversed"
    assert kinds == ["reversal", "sale"], kinds
