"""The terminal's journal: SQLite (WAL, synchronous=FULL) holding config, counters, transactions,
the step log and reversal records. It is the only thing recovery reads."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steadypos.files import make_private_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txns (
    id INTEGER PRIMARY KEY, stan INTEGER NOT NULL, batch INTEGER NOT NULL, kind TEXT NOT NULL,
    amount INTEGER NOT NULL, method TEXT NOT NULL DEFAULT '', pan_masked TEXT NOT NULL DEFAULT '',
    pan_sealed TEXT NOT NULL DEFAULT '', expiry TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL, step TEXT NOT NULL, rc TEXT NOT NULL DEFAULT '',
    rrn TEXT NOT NULL DEFAULT '', auth_code TEXT NOT NULL DEFAULT '',
    host_date TEXT NOT NULL DEFAULT '', orig_stan INTEGER, orig_batch INTEGER,
    refunded INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    id INTEGER PRIMARY KEY, txn_id INTEGER NOT NULL, step TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reversals (
    txn_id INTEGER PRIMARY KEY, fields TEXT NOT NULL, reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
"""

# Internal state of a flow that has not reached its outcome yet; `step` says how far it got.
IN_PROGRESS = "in_progress"
OUTCOMES = ("approved", "declined", "reversed", "voided", "refunded", "pending_reversal", "failed")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JournalError(OSError):
    """The journal could not be written: the step did not happen."""


@dataclass
class Txn:
    id: int
    stan: int
    batch: int
    kind: str
    amount: int
    method: str
    pan_masked: str
    pan_sealed: str
    expiry: str
    state: str
    step: str
    rc: str
    rrn: str
    auth_code: str
    host_date: str
    orig_stan: int | None
    orig_batch: int | None
    refunded: int
    message: str
    created_at: str
    updated_at: str


_TXN_COLS = ", ".join(f.name for f in fields(Txn))


@dataclass
class ReversalRecord:
    txn_id: int
    fields: dict[int, str]
    reason: str
    attempts: int


# Test only: `STEADYPOS_TEST_DISK_FAULT=full:3` makes the 3rd journal write from start-up fail as
# a full disk would (`refused:N` as a refused write), to prove a terminal survives it.
DISK_FAULT_ENV = "STEADYPOS_TEST_DISK_FAULT"
DISK_FAULTS = {"full": "database or disk is full", "refused": "disk I/O error (write refused)"}


def _disk_fault_from_env() -> tuple[str, int] | None:
    kind, _, n = os.environ.get(DISK_FAULT_ENV, "").partition(":")
    return (kind, int(n)) if kind in DISK_FAULTS and n.isdigit() else None


class Journal:
    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        # (kind, writes until it fails): a disk fault armed by a test or the simulator.
        self.disk_fault = _disk_fault_from_env()
        make_private_db(self.path)
        self.conn = sqlite3.connect(str(self.path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute("PRAGMA secure_delete=ON")  # a deleted reversal record leaves no trace
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def _check_disk(self) -> None:
        if self.disk_fault is None:
            return
        kind, left = self.disk_fault
        if left <= 1:
            self.disk_fault = None
            raise JournalError(f"journal write failed: {DISK_FAULTS[kind]}")
        self.disk_fault = (kind, left - 1)

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run statements as one durable transaction, or none of them."""
        self._check_disk()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            for sql, params in statements:
                self.conn.execute(sql, params)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise JournalError(f"journal write failed: {exc}") from exc

    # -- config and counters -------------------------------------------------------------
    def set_config(self, values: dict[str, str]) -> None:
        self._write([("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)", (k, v))
                     for k, v in values.items()])

    def config(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM config").fetchall())

    def counter(self, name: str, default: int) -> int:
        row = self.conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else default

    def set_counter(self, name: str, value: int) -> None:
        self._write([("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)",
                      (name, value))])

    # -- transactions --------------------------------------------------------------------
    def start(self, kind: str, amount: int, batch: int, orig_stan: int | None = None,
              orig_batch: int | None = None) -> Txn:
        """Allocate the next STAN and write `flow_started`, in one transaction."""
        stan = self.counter("stan", 0) % 999_999 + 1
        at = now_iso()
        self._check_disk()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT OR REPLACE INTO counters (name, value) VALUES ('stan', ?)",
                              (stan,))
            cur = self.conn.execute(
                "INSERT INTO txns (stan, batch, kind, amount, state, step, orig_stan, orig_batch, "
                "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (stan, batch, kind, amount, IN_PROGRESS, "flow_started", orig_stan, orig_batch,
                 at, at))
            txn_id = int(cur.lastrowid or 0)
            self.conn.execute("INSERT INTO steps (txn_id, step, at) VALUES (?, 'flow_started', ?)",
                              (txn_id, at))
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise JournalError(f"journal write failed: {exc}") from exc
        txn = self.txn(txn_id)
        assert txn is not None
        return txn

    def step(self, txn: Txn, step: str, detail: str = "", *,
             extra: list[tuple[str, tuple[Any, ...]]] | None = None, **changes: Any) -> None:
        """Record a step (and any column changes and extra statements) durably, all or nothing."""
        at = now_iso()
        changes = {**changes, "step": step, "updated_at": at}
        sets = ", ".join(f"{k} = ?" for k in changes)
        statements = [
            (f"UPDATE txns SET {sets} WHERE id = ?", (*changes.values(), txn.id)),
            ("INSERT INTO steps (txn_id, step, detail, at) VALUES (?,?,?,?)",
             (txn.id, step, detail, at)),
            *(extra or []),
        ]
        self._write(statements)
        for k, v in changes.items():
            setattr(txn, k, v)

    def update(self, txn: Txn, **changes: Any) -> None:
        changes = {**changes, "updated_at": now_iso()}
        sets = ", ".join(f"{k} = ?" for k in changes)
        self._write([(f"UPDATE txns SET {sets} WHERE id = ?", (*changes.values(), txn.id))])
        for k, v in changes.items():
            setattr(txn, k, v)

    def txn(self, txn_id: int) -> Txn | None:
        row = self.conn.execute(f"SELECT {_TXN_COLS} FROM txns WHERE id = ?", (txn_id,)).fetchone()
        return Txn(*row) if row else None

    def _select(self, order: str = "id", limit: int | None = None,
                **where: Any) -> list[Txn]:
        """Transactions matching every given column (None: any value)."""
        given = {k: v for k, v in where.items() if v is not None}
        sql = f"SELECT {_TXN_COLS} FROM txns"
        if given:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in given)
        sql += f" ORDER BY {order}" + (f" LIMIT {limit}" if limit else "")
        return [Txn(*r) for r in self.conn.execute(sql, tuple(given.values()))]

    def find(self, stan: int, batch: int | None = None, kind: str | None = None) -> Txn | None:
        """The latest transaction with this STAN (in this batch, of this kind)."""
        found = self._select("id DESC", 1, stan=stan, batch=batch, kind=kind)
        return found[0] if found else None

    def txns(self, state: str | None = None, batch: int | None = None) -> list[Txn]:
        return self._select(state=state, batch=batch)

    def steps_of(self, txn_id: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT step FROM steps WHERE txn_id = ? ORDER BY id", (txn_id,))]

    # -- reversal records ----------------------------------------------------------------
    @staticmethod
    def store_reversal_sql(txn_id: int, fields_: dict[int, str],
                           reason: str) -> tuple[str, tuple[Any, ...]]:
        return ("INSERT OR REPLACE INTO reversals (txn_id, fields, reason, attempts, created_at) "
                "VALUES (?, ?, ?, 0, ?)",
                (txn_id, json.dumps({str(k): v for k, v in fields_.items()}), reason, now_iso()))

    @staticmethod
    def delete_reversal_sql(txn_id: int) -> tuple[str, tuple[Any, ...]]:
        return ("DELETE FROM reversals WHERE txn_id = ?", (txn_id,))

    @staticmethod
    def reversal_reason_sql(txn_id: int, reason: str) -> tuple[str, tuple[Any, ...]]:
        return ("UPDATE reversals SET reason = ? WHERE txn_id = ?", (reason, txn_id))

    def reversals(self) -> list[ReversalRecord]:
        rows = self.conn.execute(
            "SELECT txn_id, fields, reason, attempts FROM reversals ORDER BY txn_id").fetchall()
        return [ReversalRecord(r[0], {int(k): v for k, v in json.loads(r[1]).items()}, r[2], r[3])
                for r in rows]

    def reversal(self, txn_id: int) -> ReversalRecord | None:
        return next((r for r in self.reversals() if r.txn_id == txn_id), None)

    def set_attempts(self, txn_id: int, attempts: int) -> None:
        self._write([("UPDATE reversals SET attempts = ? WHERE txn_id = ?", (attempts, txn_id))])
