"""Bring a host database written under pos-link-v1.0 to 1.1: the registry's new columns, the unused
key sets, and no card number left in the stored answers."""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger("steadypos.host")

# (table, column, definition). Terminals registered under 1.0 spoke pos_ecb: they stay legacy
# until they are registered again with x919.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("terminals", "mac", "TEXT NOT NULL DEFAULT 'pos_ecb'"),
    ("terminals", "status", "TEXT NOT NULL DEFAULT 'active'"),
    ("cards", "track_verifier", "TEXT NOT NULL DEFAULT ''"),
    ("txns", "fingerprint", "TEXT NOT NULL DEFAULT ''"),
)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def upgrade(conn: sqlite3.Connection) -> None:
    """A no-op on a new or already upgraded database. Runs in one transaction; with
    secure_delete on and the WAL truncated after it, the old answers' pages are gone."""
    if not _columns(conn, "terminals"):
        return  # a new database: the schema creates everything
    missing = [(t, c, d) for t, c, d in ADDED_COLUMNS if c not in _columns(conn, t)]
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    for table, column, definition in missing:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    # 1.0 kept each answer whole, F2 (the PAN) included; 1.1 rebuilds the copied fields from
    # the repeated request, so the stored part never needs it.
    conn.execute("UPDATE txns SET response = json_remove(response, '$.2') "
                 "WHERE json_extract(response, '$.2') IS NOT NULL")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log.info("host database upgraded to pos-link-v1.1: %s",
             ", ".join(f"{t}.{c}" for t, c, _ in missing))
