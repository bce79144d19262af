"""The money in SQL every store shares: accounts, balanced postings and their lines, the sums
`ledger check` compares, and counters handed out in blocks (RRNs) so no row is written by every
sale. A backend changes how balances are kept (PostgreSQL: a row per worker)."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from steadypos.clock import now_ts
from steadypos.host.records import Posting
from steadypos.host.schema import RRN_BLOCK
from steadypos.host.sql_run import SqlRun


def net_by_account(lines: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    """What a posting adds to each account it names, one entry per account, sorted (so that
    two writers lock the same rows in the same order)."""
    net: dict[str, int] = {}
    for account, amount in lines:
        net[account] = net.get(account, 0) + amount
    return sorted(net.items())


def flat(pairs: list[tuple[str, int]] | tuple[tuple[str, int], ...]) -> tuple[Any, ...]:
    """a0, m0, a1, m1, ... of (account, amount) pairs: the parameters of a statement of many
    rows, in the order they appear in it."""
    return tuple(v for pair in pairs for v in pair)


@functools.cache
def _lines_sql(n: int) -> str:
    """The INSERT of a posting's n lines (:pid, then each line's account and amount)."""
    values = ", ".join(f"(:pid, {i}, :a{i}, :m{i})" for i in range(n))
    return f"INSERT INTO posting_lines (posting_id, line, account, amount) VALUES {values}"




class SqlLedger(SqlRun):
    """Accounts, postings and counters. Remembers which accounts exist (once committed) and the
    rest of its counter blocks, and forgets what a rollback may have undone."""

    # Whether a reserved block stays reserved when its transaction rolls back (a sequence).
    blocks_survive_rollback: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._balances: dict[str, int] = {}  # kept (`keeps_rows`): account -> balance
        self._accounts: set[str] = set()  # known to exist, committed
        self._new_accounts: set[str] = set()  # made in the open transaction
        self._blocks: dict[str, tuple[int, int]] = {}  # counter -> (next value, last of block)

    def _forget_kept(self) -> None:
        super()._forget_kept()
        self._balances.clear()

    def _undone(self, committed: bool) -> None:
        super()._undone(committed)
        if committed:
            self._accounts |= self._new_accounts
        elif not self.blocks_survive_rollback:
            self._blocks.clear()
        self._new_accounts.clear()

    # -- accounts ------------------------------------------------------------------------
    def ensure_account(self, account: str, kind: str) -> None:
        """The account exists after this (nothing runs for one known to exist)."""
        if account in self._accounts or account in self._new_accounts:
            return
        self._run("INSERT INTO accounts (id, kind) VALUES (:id, :kind) ON CONFLICT DO NOTHING",
                  id=account, kind=kind)
        self._new_accounts.add(account)

    def balance(self, account: str, for_update: bool = False) -> int:
        """`for_update`: the account is about to pay (one writer: nothing to lock)."""
        kept = self._balances.get(account) if self._kept else None
        if kept is not None:
            return kept
        row = self._run("SELECT balance_fen FROM accounts WHERE id = :id", id=account).fetchone()
        if row is None:
            return 0
        if self._kept:
            self._balances[account] = int(row[0])
        return int(row[0])

    def post(self, p: Posting) -> None:
        """The posting and all its lines in two statements; each account's balance follows its
        lines in the second (a trigger: SQLite's schema versions 3 and 4). A backend that keeps
        balances otherwise posts its own way (PostgreSQL)."""
        pid = self._insert_returning_id(
            "INSERT INTO postings (kind, ref, created_at) VALUES (:kind, :ref, :at)",
            dict(kind=p.kind, ref=p.ref, at=now_ts()))
        lines = p.lines
        self._run_seq(_lines_sql(len(lines)), tuple(v for a, m in lines for v in (pid, a, m)))
        kept = self._balances
        if kept:
            for account, amount in lines:
                if account in kept:
                    kept[account] += amount

    def account_balances(self) -> list[tuple[str, str, int]]:
        return [(r[0], r[1], int(r[2])) for r in
                self._run("SELECT id, kind, balance_fen FROM accounts ORDER BY kind, id")]

    # -- what ledger check reads ---------------------------------------------------------
    def posting_sums(self) -> list[tuple[int, str, str, int, int]]:
        """(posting id, kind, ref, sum of lines, number of lines) for every posting; read whole
        (PostgreSQL's one cursor would be cut short by the next statement)."""
        return [(int(r[0]), r[1], r[2], int(r[3]), int(r[4])) for r in self._run(
            "SELECT p.id, p.kind, p.ref, COALESCE(SUM(l.amount), 0), COUNT(l.amount) "
            "FROM postings p LEFT JOIN posting_lines l ON l.posting_id = p.id "
            "GROUP BY p.id, p.kind, p.ref ORDER BY p.id")]

    def line_totals(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in
                self._run("SELECT account, SUM(amount) FROM posting_lines GROUP BY account")}

    def postings(self) -> list[tuple[int, str, str, list[tuple[str, int]]]]:
        """(id, kind, ref, lines in the order posted) of every posting, oldest first."""
        out: dict[int, tuple[int, str, str, list[tuple[str, int]]]] = {}
        for pid, kind, ref in self._run("SELECT id, kind, ref FROM postings ORDER BY id"):
            out[pid] = (pid, kind, ref, [])
        for pid, account, amount in self._run(
                "SELECT posting_id, account, amount FROM posting_lines "
                "ORDER BY posting_id, line"):
            out[pid][3].append((account, int(amount)))
        return list(out.values())

    # -- counters ------------------------------------------------------------------------
    def next_value(self, counter: str) -> int:
        """The counter's next value, from a block of RRN_BLOCK reserved by one statement."""
        nxt, last = self._blocks.get(counter, (1, 0))
        if nxt > last:
            last = self._reserve(counter, RRN_BLOCK)
            nxt = last - RRN_BLOCK + 1
        self._blocks[counter] = (nxt + 1, last)
        return nxt

    def _reserve(self, counter: str, size: int) -> int:
        """Move the counter `size` on; the last value of the block now reserved."""
        row = self._run("INSERT INTO counters (name, value) VALUES (:name, :n) "
                        "ON CONFLICT (name) DO UPDATE SET value = counters.value + :n "
                        "RETURNING value", name=counter, n=size).fetchone()
        return int(row[0])
