"""The PostgreSQL store (psycopg 3), for several host processes on one database. Nothing that every
sale writes is one row: each worker takes RRNs from a sequence in blocks, and each account's
balance is kept in one row per host worker (`account_shards`), summed on read. Rows a request
reads and then changes are locked (its terminal, the paying account), so the rules hold across
processes."""

from __future__ import annotations

import contextlib
import functools
import logging
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.dialects import postgresql

from steadypos.clock import now_ts
from steadypos.host.migrate import Migration, ddl_step, upgrade
from steadypos.host.pg_statements import Statements
from steadypos.host.records import CardRow, Posting, TxnRow
from steadypos.host.schema import RRN_BLOCK, SqlDialect, shared_steps, tables
from steadypos.host.sql_ledger import flat, net_by_account
from steadypos.host.sql_rows import CARD_COLS, INSERT_TXN, txn_values
from steadypos.host.sql_store import (
    SqlStore,
    StoreConflict,
    StoreError,
    store_error,
)

log = logging.getLogger("steadypos.host")
SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT = 5  # seconds: a server that does not answer is a clear error, not a hang
MIGRATIONS: tuple[Migration, ...] = (
    *shared_steps(ddl_step(1, "pos-link-v1.1 tables", *tables(SqlDialect.POSTGRESQL))),
    ddl_step(3, "no row that every sale writes: RRNs from a sequence, balances per worker",
             "CREATE SEQUENCE IF NOT EXISTS rrn_seq",
             "SELECT setval('rrn_seq', COALESCE((SELECT MAX(value) FROM counters "
             "WHERE name = 'rrn'), 0) + 1, false)",
             "DELETE FROM counters WHERE name = 'rrn'",
             "CREATE TABLE account_shards (account TEXT NOT NULL REFERENCES accounts(id), "
             "shard INTEGER NOT NULL, balance BIGINT NOT NULL, PRIMARY KEY (account, shard))",
             "INSERT INTO account_shards (account, shard, balance) "
             "SELECT id, 0, balance FROM accounts WHERE balance <> 0",
             "ALTER TABLE accounts DROP COLUMN balance"),
    # A worker takes RRN_BLOCK values with one nextval: the sequence is touched once a block.
    ddl_step(4, f"RRNs in blocks of {RRN_BLOCK} per worker",
             f"ALTER SEQUENCE rrn_seq INCREMENT BY {RRN_BLOCK}"),
)
# The errors after which the same request, run again, finds what the other process committed.
_CONFLICTS = (pg_errors.UniqueViolation, pg_errors.SerializationFailure,
              pg_errors.DeadlockDetected, pg_errors.LockNotAvailable)
# Where the server is this machine (libpq's host: these names, or a socket directory): there a
# round trip costs less than the pipeline's own bookkeeping (benchmarks/host_throughput.py, 2
# workers on 127.0.0.1, 3 runs: 641 -> 731 sales/s, 883 -> 815 us of CPU a sale without it).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Two groups that lock the same two rows in opposite orders wait for each other: give up on
# the wait this soon (the request runs again) rather than after PostgreSQL's deadlock_timeout.
LOCK_TIMEOUT = "200ms"


@functools.cache
def _post_sql(lines: int, accounts: int, with_txn: bool) -> str:
    """A posting of `lines` lines naming `accounts` accounts: its row, its lines (numbered in
    order) and each account's shard row of this worker, which no other worker writes; then,
    `with_txn`, the row of the request that made it (INSERT_TXN's parameters after)."""
    rows = ", ".join(f"({i}, CAST(:a{i} AS TEXT), CAST(:m{i} AS BIGINT))" for i in range(lines))
    shards = ", ".join(f"(:s{i}, :shard{i}, :n{i})" for i in range(accounts))
    add = (f"INSERT INTO account_shards (account, shard, balance) VALUES {shards} "
           "ON CONFLICT (account, shard) "
           "DO UPDATE SET balance = account_shards.balance + EXCLUDED.balance")
    sql = ("WITH p AS (INSERT INTO postings (kind, ref, created_at) VALUES (:kind, :ref, :at) "
           "RETURNING id), l AS (INSERT INTO posting_lines (posting_id, line, account, amount) "
           f"SELECT p.id, v.line, v.account, v.amount FROM p, (VALUES {rows}) "
           "AS v (line, account, amount))")
    return f"{sql}, s AS ({add}) {INSERT_TXN}" if with_txn else f"{sql} {add}"


def is_pg_url(text: str) -> bool:
    return text.startswith(SCHEMES)


class PgStore(SqlStore):
    blocks_survive_rollback = True  # nextval is never undone
    dialect = postgresql.psycopg.dialect(paramstyle="format")
    driver_error = psycopg.Error
    lock = " FOR UPDATE"
    row_locks = True

    def __init__(self, url: str, shard: int = 0,
                 migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
        """`shard`: which balance row of each account this process writes (its worker
        number)."""
        super().__init__()
        self.url, self.shard = url, shard
        self._open()
        # Pipeline mode pays where a round trip is dear: a server on another machine.
        host = self.conn.info.host
        self.use_pipeline = not (host.startswith("/") or host in LOCAL_HOSTS)
        # In pipeline mode, one cursor for every statement (a new one each costs about as much
        # as sending the statement): each result is read, if at all, before the next one runs.
        self._cursor: Any = None
        self._cursor_of: Any = None  # the connection it belongs to
        # A posting not sent yet: it goes out with the request's txn row, one statement for
        # both, or alone before any other statement.
        self._pending: Posting | None = None
        self._locked: set[str] = set()  # accounts whose row this transaction locked
        try:
            upgrade(self, migrations)
        except BaseException:
            self.conn.close()
            raise

    def _open(self) -> None:
        """A new connection, with statements of its own (the server forgot the old ones)."""
        self.conn = self._connect()
        self._statements = Statements(self.conn)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            # autocommit: we issue BEGIN/COMMIT ourselves, so one commit covers a group.
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            return conn
        except psycopg.Error as exc:
            raise store_error(exc) from exc

    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        if self._pending is not None:
            self._send_posting(None)
        try:
            if not self.conn.pgconn.pipeline_status:  # PipelineStatus.OFF
                return self._statements.run(sql, params)
            if self._cursor_of is not self.conn:
                self._cursor, self._cursor_of = self.conn.cursor(), self.conn
            return self._cursor.execute(sql, params)
        except _CONFLICTS as exc:
            raise StoreConflict(str(exc).splitlines()[0]) from exc

    def _insert_returning_id(self, sql: str, params: dict[str, Any]) -> int:
        return int(self._run_dict(sql + " RETURNING id", params).fetchone()[0])

    def _begin(self) -> None:
        """BEGIN; first a new connection if the server dropped the last one (restarted, or
        its backend terminated): the host keeps serving once the database is back."""
        if self.conn.closed or self.conn.broken:
            self.conn.close()
            self._open()
            log.warning("reconnected to the host database")
        self.ddl("BEGIN")

    def _commit(self) -> None:
        self.ddl("COMMIT")

    def _undone(self, committed: bool) -> None:
        super()._undone(committed)
        self._locked.clear()  # a commit ends the locks; a savepoint's rollback may have
        if not committed:
            self._pending = None  # it was the undone request's

    def _rollback(self) -> None:
        self._pending = None
        if self.conn.closed or self.conn.broken:
            return  # the server ended the transaction with the connection: nothing was kept
        try:
            self.ddl("ROLLBACK")
        except StoreError:
            log.warning("rollback failed; the connection will be opened again")
            self.conn.close()

    def close(self) -> None:
        self.conn.close()

    def pipelined(self) -> AbstractContextManager[Any]:
        """psycopg's pipeline mode (`use_pipeline`: a server on another machine): a statement
        is sent without waiting for the answer to the one before, until a result is read (a
        SELECT's row)."""
        return self.conn.pipeline() if self.use_pipeline else contextlib.nullcontext()

    def has_table(self, name: str) -> bool:
        return self._run("SELECT 1 FROM information_schema.tables WHERE table_name = :name "
                         "AND table_schema = current_schema()", name=name).fetchone() is not None

    # -- no row that every sale writes -------------------------------------------------------
    def _reserve(self, counter: str, size: int) -> int:
        """RRNs: a block of the sequence (it moves RRN_BLOCK at a time), taken outside any
        transaction's undo, so several workers never share a value."""
        if counter == "rrn" and size == RRN_BLOCK:
            # A sequence is no row a waiting posting touches: the posting still goes out with
            # the txn row (a sale takes its RRN between the two).
            pending, self._pending = self._pending, None
            try:
                return int(self._run("SELECT nextval('rrn_seq')").fetchone()[0]) + size - 1
            finally:
                self._pending = pending
        return super()._reserve(counter, size)

    def balance(self, account: str, for_update: bool = False) -> int:
        """`for_update`: lock the account's row first; the sum is then read by a statement of
        its own, which sees what the worker that held the lock committed."""
        if for_update and account not in self._locked:  # a second process's sale waits
            self._run("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE", id=account)
            self._locked.add(account)
        row = self._run("SELECT COALESCE(SUM(balance), 0) FROM account_shards "
                        "WHERE account = :id", id=account).fetchone()
        return int(row[0])

    def card(self, pan_ref: str, pays: bool = False) -> CardRow | None:
        """`pays`: the card's account row is locked by the same statement (a scalar subquery
        FOR UPDATE), which saves the lock's own statement when its balance is read."""
        if not pays:
            return super().card(pan_ref)
        row = self._run(f"SELECT {CARD_COLS}, (SELECT 1 FROM accounts a WHERE a.id = "
                        "CONCAT('card:', c.id) FOR UPDATE) FROM cards c WHERE c.pan_ref = :ref",
                        ref=pan_ref).fetchone()
        if row is None:
            return None
        card = CardRow(*row[:-1])
        if row[-1] is not None:
            self._locked.add(card.account)
        return card

    def post(self, p: Posting) -> None:
        """The posting, its lines and what it adds to this worker's balance rows: one statement,
        whose answer nobody waits for (pipelined), sent with the next: the request's txn row
        when that comes next (one statement for both), else before whatever does."""
        if self._pending is not None:
            self._send_posting(None)
        self._pending = p

    def insert_txn(self, t: TxnRow) -> None:
        if self._pending is None:
            super().insert_txn(t)
        else:
            self._send_posting(t)

    def _send_posting(self, t: TxnRow | None) -> None:
        p, self._pending = self._pending, None
        assert p is not None
        net = net_by_account(p.lines)
        values = (p.kind, p.ref, now_ts(), *flat(p.lines),
                  *(v for account, amount in net for v in (account, self.shard, amount)))
        self._run_seq(_post_sql(len(p.lines), len(net), t is not None),
                      values if t is None else values + txn_values(t))

    def account_balances(self) -> list[tuple[str, str, int]]:
        return [(r[0], r[1], int(r[2])) for r in self._run(
            "SELECT a.id, a.kind, COALESCE(SUM(s.balance), 0) FROM accounts a "
            "LEFT JOIN account_shards s ON s.account = a.id GROUP BY a.id, a.kind "
            "ORDER BY a.kind, a.id")]
