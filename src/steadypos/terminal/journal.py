"""The terminal's journal: SQLite (WAL, synchronous=FULL) holding config, counters, transactions,
the step log and reversal records. It is the only thing recovery reads, and it owns all its SQL:
the engine says what it means (`drop_reversal`, `mark_voided`, `close_batch`, ...)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from steadypos.eventlog import now_ts
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



class State(StrEnum):
    """A transaction's state in the journal (README, "Journal states")."""

    IN_PROGRESS = "in_progress"  # not at its outcome yet; `step` says how far it got
    APPROVED = "approved"
    DECLINED = "declined"
    REVERSED = "reversed"
    VOIDED = "voided"
    REFUNDED = "refunded"  # a sale refunded in full
    PENDING_REVERSAL = "pending_reversal"
    FAILED = "failed"


class Kind(StrEnum):
    """What a journaled flow is (`txns.kind`)."""

    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    BALANCE = "balance"
    SETTLE = "settle"


REVERSIBLE = frozenset({Kind.SALE, Kind.VOID})  # a reversal record goes before the request
PRINTED = frozenset({Kind.SALE, Kind.VOID, Kind.REFUND})  # they end with a receipt
IN_PROGRESS = State.IN_PROGRESS
OUTCOMES = tuple(s.value for s in State if s is not State.IN_PROGRESS)
MAX_STAN = 999_999
PARAMS_WAITING = "params_waiting"  # counter: the host said newer parameters wait in the TMS
JOURNAL_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")  # SQLite's; a terminal uses FULL


def following_stan(stan: int) -> int:
    """The STAN after `stan`: 1 to 999999, then 1 again (the one rule for the next STAN)."""
    return stan % MAX_STAN + 1


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
_KINDS = {"int": (int,), "str": (str,), "int | None": (int, type(None))}
_TXN_KINDS = tuple((f.name, _KINDS[str(f.type)]) for f in fields(Txn))


def _txn(row: tuple[Any, ...]) -> Txn:
    """A row as a Txn, if its values have the schema's types: a damaged page can hand back a
    record whose bytes decode to other types, and that must read as damage, not crash later."""
    for (name, kinds), value in zip(_TXN_KINDS, row, strict=True):
        if not isinstance(value, kinds):
            raise sqlite3.DatabaseError(f"transaction {row[0]!r} has a {type(value).__name__} "
                                        f"{name}: the record is damaged")
    return Txn(*row)


class Change(NamedTuple):
    """A write the journal makes together with a step, in its transaction (see `step`)."""

    sql: str
    params: tuple[Any, ...]


@dataclass
class ReversalRecord:
    txn_id: int
    fields: dict[int, str]
    reason: str
    attempts: int


# A simulated disk fault: ("full" or "refused", the journal write from start-up that fails), to
# prove a terminal survives a full disk or a refused write (tests, chaos, `--disk-fault`).
DISK_FAULTS = {"full": "database or disk is full", "refused": "disk I/O error (write refused)"}
DiskFault = tuple[str, int]


class Journal:
    """One terminal's journal file. Each write is one durable SQLite transaction."""

    def __init__(self, path: str | Path, synchronous: str = "FULL",
                 disk_fault: DiskFault | None = None) -> None:
        if synchronous not in JOURNAL_SYNC_MODES:
            raise ValueError(f"journal sync must be one of {', '.join(JOURNAL_SYNC_MODES)}")
        self.path = Path(path)
        self.disk_fault = disk_fault  # (kind, writes until it fails), armed by a test bench
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

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]] | list[Change]) -> None:
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
        self._write([self._set_counter(name, value)])

    def batch(self) -> int:
        """The batch the terminal trades in (the host names it at sign-in)."""
        return self.counter("batch", 1)

    def set_batch(self, batch: int) -> None:
        self._write([self._set_counter("batch", batch)])

    def next_stan(self) -> int:
        """Allocate the next STAN for a message that is not a journaled flow (sign-in, upload)."""
        stan = following_stan(self.counter("stan", 0))
        self._write([self._set_counter("stan", stan)])
        return stan

    @staticmethod
    def _set_counter(name: str, value: int) -> Change:
        return Change("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))

    # -- transactions --------------------------------------------------------------------
    def start(self, kind: str, amount: int, batch: int, orig_stan: int | None = None,
              orig_batch: int | None = None) -> Txn:
        """Allocate the next STAN and write `flow_started`, in one transaction."""
        stan = following_stan(self.counter("stan", 0))
        at = now_ts()
        self._check_disk()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(*self._set_counter("stan", stan))
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
             also: list[Change] | None = None, **changes: Any) -> None:
        """Record a step (and any column changes, and the `also` writes the intent methods
        below make) durably, all or nothing."""
        at = now_ts()
        changes = {**changes, "step": step, "updated_at": at}
        sets = ", ".join(f"{k} = ?" for k in changes)
        statements = [
            (f"UPDATE txns SET {sets} WHERE id = ?", (*changes.values(), txn.id)),
            ("INSERT INTO steps (txn_id, step, detail, at) VALUES (?,?,?,?)",
             (txn.id, step, detail, at)),
            *(also or []),
        ]
        self._write(statements)
        for k, v in changes.items():
            setattr(txn, k, v)

    def update(self, txn: Txn, **changes: Any) -> None:
        changes = {**changes, "updated_at": now_ts()}
        sets = ", ".join(f"{k} = ?" for k in changes)
        self._write([(f"UPDATE txns SET {sets} WHERE id = ?", (*changes.values(), txn.id))])
        for k, v in changes.items():
            setattr(txn, k, v)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """All rows of a SELECT, its cursor closed even when a damaged page stops the read: an
        open cursor (kept alive by the exception's traceback) would keep close() from
        checkpointing and removing the WAL."""
        with contextlib.closing(self.conn.execute(sql, params)) as cur:
            return cur.fetchall()

    def txn(self, txn_id: int) -> Txn | None:
        rows = self._rows(f"SELECT {_TXN_COLS} FROM txns WHERE id = ?", (txn_id,))
        return _txn(rows[0]) if rows else None

    def _select(self, order: str = "id", limit: int | None = None,
                **where: Any) -> list[Txn]:
        """Transactions matching every given column (None: any value)."""
        given = {k: v for k, v in where.items() if v is not None}
        sql = f"SELECT {_TXN_COLS} FROM txns"
        if given:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in given)
        sql += f" ORDER BY {order}" + (f" LIMIT {limit}" if limit else "")
        return [_txn(r) for r in self._rows(sql, tuple(given.values()))]

    def find(self, stan: int, batch: int | None = None, kind: str | None = None) -> Txn | None:
        """The latest transaction with this STAN (in this batch, of this kind)."""
        found = self._select("id DESC", 1, stan=stan, batch=batch, kind=kind)
        return found[0] if found else None

    def txns(self, state: str | None = None, batch: int | None = None) -> list[Txn]:
        return self._select(state=state, batch=batch)

    def steps_of(self, txn_id: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT step FROM steps WHERE txn_id = ? ORDER BY id", (txn_id,))]

    # -- writes that go with a step (`step(..., also=[...])`) ---------------------------
    @staticmethod
    def keep_reversal(txn: Txn, fields_: dict[int, str], reason: str) -> Change:
        """Store the reversal record of `txn` (its 0400's fields, card number sealed)."""
        return Change("INSERT OR REPLACE INTO reversals (txn_id, fields, reason, attempts, "
                      "created_at) VALUES (?, ?, ?, 0, ?)",
                      (txn.id, json.dumps({str(k): v for k, v in fields_.items()}), reason,
                       now_ts()))

    @staticmethod
    def drop_reversal(txn: Txn) -> Change:
        return Change("DELETE FROM reversals WHERE txn_id = ?", (txn.id,))

    @staticmethod
    def set_reversal_reason(txn: Txn, reason: str) -> Change:
        return Change("UPDATE reversals SET reason = ? WHERE txn_id = ?", (reason, txn.id))

    @staticmethod
    def mark_voided(sale: Txn) -> Change:
        return Change("UPDATE txns SET state = ? WHERE id = ?", (State.VOIDED.value, sale.id))

    @staticmethod
    def mark_unvoided(sale: Txn) -> Change:
        """A void that was reversed: its sale stands again."""
        return Change("UPDATE txns SET state = ? WHERE id = ?", (State.APPROVED.value, sale.id))

    @staticmethod
    def add_refund(sale: Txn, amount: int) -> Change:
        """`amount` more of `sale` refunded; refunded in full, it is `refunded`."""
        state = State.REFUNDED if sale.refunded + amount >= sale.amount else State(sale.state)
        return Change("UPDATE txns SET refunded = refunded + ?, state = ? WHERE id = ?",
                      (amount, state.value, sale.id))

    @classmethod
    def close_batch(cls, batch: int) -> Change:
        """The batch is settled: the terminal trades in the next one."""
        return cls._set_counter("batch", batch + 1)

    # -- reversal records ----------------------------------------------------------------

    def reversals(self) -> list[ReversalRecord]:
        rows = self.conn.execute(
            "SELECT txn_id, fields, reason, attempts FROM reversals ORDER BY txn_id").fetchall()
        return [ReversalRecord(r[0], {int(k): v for k, v in json.loads(r[1]).items()}, r[2], r[3])
                for r in rows]

    def reversal(self, txn_id: int) -> ReversalRecord | None:
        return next((r for r in self.reversals() if r.txn_id == txn_id), None)

    def set_attempts(self, txn_id: int, attempts: int) -> None:
        self._write([("UPDATE reversals SET attempts = ? WHERE txn_id = ?", (attempts, txn_id))])
