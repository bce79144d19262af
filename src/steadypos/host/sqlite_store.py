"""The embedded store: SQLite in WAL mode, synchronous=FULL, so a commit survives a power cut; the
file and its WAL readable by the owner only, deleted content overwritten (secure_delete)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite

from steadypos.files import make_private_db
from steadypos.host.migrate import Migratable, Migration, ddl_step, upgrade
from steadypos.host.sql_store import SqlStore, store_error

log = logging.getLogger("steadypos.host")

TABLES = (
    """CREATE TABLE IF NOT EXISTS terminals (
    tid TEXT PRIMARY KEY, mid TEXT NOT NULL, tmk TEXT NOT NULL,
    pik TEXT, mak TEXT, tdk TEXT, key_gen INTEGER NOT NULL DEFAULT 0,
    signed_in INTEGER NOT NULL DEFAULT 0, batch INTEGER NOT NULL DEFAULT 1,
    txn_limit INTEGER NOT NULL, mac TEXT NOT NULL DEFAULT 'x919',
    status TEXT NOT NULL DEFAULT 'active')""",
    """CREATE TABLE IF NOT EXISTS key_sets (
    tid TEXT NOT NULL, gen INTEGER NOT NULL, pik TEXT NOT NULL, mak TEXT NOT NULL,
    tdk TEXT NOT NULL, issued_at TEXT NOT NULL, PRIMARY KEY (tid, gen))""",
    """CREATE TABLE IF NOT EXISTS cards (
    id INTEGER PRIMARY KEY, pan_ref TEXT NOT NULL UNIQUE, pan_masked TEXT NOT NULL,
    expiry TEXT NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL, psn TEXT NOT NULL,
    pin_verifier TEXT NOT NULL, pin_tries INTEGER NOT NULL DEFAULT 0,
    track_verifier TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS qr_codes (
    code_ref TEXT PRIMARY KEY, wallet TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0,
    issued_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, balance INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS postings (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS posting_lines (
    posting_id INTEGER NOT NULL REFERENCES postings(id), account TEXT NOT NULL,
    amount INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS posting_lines_posting ON posting_lines(posting_id)",
    """CREATE TABLE IF NOT EXISTS txns (
    id INTEGER PRIMARY KEY, tid TEXT NOT NULL, batch INTEGER NOT NULL, stan INTEGER NOT NULL,
    mti TEXT NOT NULL, kind TEXT NOT NULL, content_hash TEXT, amount INTEGER NOT NULL,
    pan_ref TEXT, account TEXT, rc TEXT NOT NULL, rrn TEXT NOT NULL, auth_code TEXT NOT NULL,
    response TEXT NOT NULL, state TEXT NOT NULL, refunded INTEGER NOT NULL DEFAULT 0,
    orig_id INTEGER, created_at TEXT NOT NULL, fingerprint TEXT NOT NULL DEFAULT '',
    UNIQUE (tid, batch, stan, mti))""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS settlements (
    tid TEXT NOT NULL, batch INTEGER NOT NULL, result TEXT NOT NULL, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS settlements_batch ON settlements(tid, batch)",
    """CREATE TABLE IF NOT EXISTS upload_diffs (
    id INTEGER PRIMARY KEY, tid TEXT NOT NULL, batch INTEGER NOT NULL, stan INTEGER NOT NULL,
    problem TEXT NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS host_audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS params_waiting (tid TEXT PRIMARY KEY)",
)

# (table, column, definition) that pos-link-v1.0 databases lack. Terminals registered under 1.0
# spoke pos_ecb: they stay legacy until they are registered again with x919.
V1_0_MISSING: tuple[tuple[str, str, str], ...] = (
    ("terminals", "mac", "TEXT NOT NULL DEFAULT 'pos_ecb'"),
    ("terminals", "status", "TEXT NOT NULL DEFAULT 'active'"),
    ("cards", "track_verifier", "TEXT NOT NULL DEFAULT ''"),
    ("txns", "fingerprint", "TEXT NOT NULL DEFAULT ''"),
)


def _pos_link_1_1(db: Migratable) -> None:
    """The tables of pos-link-v1.1; a 1.0 database (made before versions) gains its columns and
    loses the card numbers its stored answers kept."""
    assert isinstance(db, SqliteStore)
    missing = [(t, c, d) for t, c, d in V1_0_MISSING if db.has_table(t)
               and c not in db.columns(t)]
    for table, column, definition in missing:
        db.ddl(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    if missing:
        log.info("host database upgraded to pos-link-v1.1: %s",
                 ", ".join(f"{t}.{c}" for t, c, _ in missing))
        # 1.0 kept each answer whole, F2 (the PAN) included; 1.1 rebuilds the copied fields
        # from the repeated request, so the stored part never needs it.
        db.ddl("UPDATE txns SET response = json_remove(response, '$.2') "
               "WHERE json_extract(response, '$.2') IS NOT NULL")
    for sql in TABLES:
        db.ddl(sql)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "pos-link-v1.1 tables", _pos_link_1_1),
    ddl_step(2, "posting lines numbered within their posting",
             "ALTER TABLE posting_lines ADD COLUMN line INTEGER NOT NULL DEFAULT 0"),
)


def read_only(path: str | Path) -> sqlite3.Connection:
    """A connection that can only read one of our SQLite files (host database or terminal
    journal), waiting out a writer rather than failing: for checks and tools."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class SqliteStore(SqlStore):
    dialect = sqlite.dialect()
    driver_error = sqlite3.Error

    def __init__(self, path: str | Path, synchronous: str = "FULL",
                 migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
        self.path = str(path)
        try:
            make_private_db(self.path)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so one commit covers a
            # group.
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise store_error(exc) from exc
        try:
            for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "foreign_keys=ON",
                           "busy_timeout=5000", "secure_delete=ON"):
                self.ddl(f"PRAGMA {pragma}")
            if upgrade(self, migrations):
                # With secure_delete on and the WAL truncated, the old pages are gone.
                self.ddl("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException:
            self.conn.close()
            raise

    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self.conn.execute(sql, params)

    def _insert_returning_id(self, sql: str, params: dict[str, Any]) -> int:
        return int(self._run(sql, **params).lastrowid or 0)

    def begin(self) -> None:
        self.ddl("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.ddl("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.ddl("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def has_table(self, name: str) -> bool:
        return self._run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name",
                         name=name).fetchone() is not None

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self._run(f"PRAGMA table_info({table})")}
