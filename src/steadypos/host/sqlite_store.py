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
from steadypos.host.schema import SqlDialect, shared_steps, tables
from steadypos.host.sql_store import SqlStore, store_error

log = logging.getLogger("steadypos.host")

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
    for sql in tables(SqlDialect.SQLITE):
        db.ddl(sql)


MIGRATIONS: tuple[Migration, ...] = (
    *shared_steps(Migration(1, "pos-link-v1.1 tables", _pos_link_1_1)),
    # One statement less a sale: SQLite moves the balance as it writes each line, in the same
    # statement, where a separate UPDATE cost about 6 us of CPU (PostgreSQL keeps shard rows).
    ddl_step(3, "account balances follow their posting lines (a trigger)",
             "CREATE TRIGGER posting_lines_balance AFTER INSERT ON posting_lines BEGIN "
             "UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.account; END"),
    # Code from before version 3 has no newer-than check and adds to accounts.balance itself,
    # beside the trigger: every sale would count twice. Under another name its first read or
    # UPDATE of a balance fails ("no such column") instead.
    ddl_step(4, "accounts.balance is balance_fen, which hosts from before the trigger do not know",
             "DROP TRIGGER posting_lines_balance",
             "ALTER TABLE accounts RENAME COLUMN balance TO balance_fen",
             "CREATE TRIGGER posting_lines_balance AFTER INSERT ON posting_lines BEGIN "
             "UPDATE accounts SET balance_fen = balance_fen + NEW.amount "
             "WHERE id = NEW.account; END"),
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
    # One writer, and every other connection's commit moves PRAGMA data_version: the rows a
    # sale reads (its terminal, card, balance) are kept between transactions, checked once a
    # transaction (a group), not read again for every request.
    keeps_rows = True

    def __init__(self, path: str | Path, synchronous: str = "FULL",
                 migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
        super().__init__()
        self.path = str(path)
        self._data_version: int | None = None
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
        return int(self._run_dict(sql, params).lastrowid or 0)

    def _begin(self) -> None:
        self.ddl("BEGIN IMMEDIATE")

    def _changed_elsewhere(self) -> bool:
        """Inside BEGIN IMMEDIATE (no other connection can commit until ours ends): whether
        one did since the last time we asked."""
        version = self._run("PRAGMA data_version").fetchone()[0]
        changed, self._data_version = version != self._data_version, version
        return changed

    def _commit(self) -> None:
        self.ddl("COMMIT")

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.ddl("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def has_table(self, name: str) -> bool:
        return self._run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name",
                         name=name).fetchone() is not None

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self._run(f"PRAGMA table_info({table})")}
