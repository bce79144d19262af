"""The store behind its protocol: opened from a URL, versioned migrations (a new database, one at
the previous version and one made before versions all reach the newest, on SQLite and on
PostgreSQL), driver errors as StoreError."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from hostkit import BACKENDS
from support.pg import pg_schema

from steadypos.host import pg_store, sqlite_store
from steadypos.host.ledger import check
from steadypos.host.migrate import Migration, latest
from steadypos.host.records import CardRow, Posting, TxnRow
from steadypos.host.schema import RRN_BLOCK
from steadypos.host.settings import default_keys_path
from steadypos.host.store import StoreConflict, StoreError, StoreUrl, open_store

NEWEST = latest(sqlite_store.MIGRATIONS)


def test_a_url_or_a_plain_path_opens_the_same_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    assert StoreUrl.parse(f"sqlite:///{db}").sqlite_path == db
    assert StoreUrl.parse(str(db)).sqlite_path == db
    store = open_store(f"sqlite:///{db}")
    store.begin()
    store.ensure_account("card:1", "card")
    store.commit()
    store.close()
    again = open_store(db)
    assert again.account_balances() == [("card:1", "card", 0)]
    again.close()


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        StoreUrl.parse("mysql://127.0.0.1/host")


def test_the_key_file_is_named_by_the_command_line_not_the_store(tmp_path: Path) -> None:
    assert default_keys_path(f"sqlite:///{tmp_path}/h.db") == tmp_path / "h.db.keys"
    assert default_keys_path(tmp_path / "h.db") == tmp_path / "h.db.keys"


def test_a_new_database_is_at_the_newest_version(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.db")
    assert store.schema_version() == NEWEST
    store.close()


@pytest.mark.parametrize("at", [NEWEST - 1, 2], ids=["previous", "before the trigger"])
def test_a_database_at_an_older_version_is_upgraded_and_keeps_its_money(
        tmp_path: Path, at: int) -> None:
    db = tmp_path / "h.db"
    old = sqlite_store.SqliteStore(db, migrations=sqlite_store.MIGRATIONS[:at])
    assert old.schema_version() == at
    old.begin()  # what the code of that version wrote: a sale of 5 yuan
    for sql in ("INSERT INTO accounts (id, kind) VALUES ('card:1', 'card'), "
                "('merchant:M1', 'merchant')",
                "INSERT INTO postings (id, kind, ref, created_at) VALUES (1, 'sale', 'T1/1', 'x')",
                "INSERT INTO posting_lines (posting_id, account, amount) "
                "VALUES (1, 'card:1', -500)",
                "INSERT INTO posting_lines (posting_id, account, amount) "
                "VALUES (1, 'merchant:M1', 500)"):
        old.ddl(sql)
    if at < 3:  # its own UPDATE, where version 3's trigger moves the balances
        old.ddl("UPDATE accounts SET balance = 500 * (CASE kind WHEN 'card' THEN -1 ELSE 1 END)")
    old.commit()
    old.close()
    store = open_store(db)
    assert store.schema_version() == NEWEST
    store.begin()
    store.post(Posting("refund", "T1/2", (("merchant:M1", -200), ("card:1", 200))))
    store.commit()
    assert dict((a, b) for a, _, b in store.account_balances()) == {"card:1": -300,
                                                                    "merchant:M1": 300}
    assert store.postings()[-1][3] == [("merchant:M1", -200), ("card:1", 200)]
    assert check(store).ok
    store.close()


def test_a_database_newer_than_the_code_is_refused_not_written(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    open_store(db).close()
    with pytest.raises(StoreError, match=f"schema version {NEWEST}, newer than this host's "
                                         f"{NEWEST - 1}"):
        sqlite_store.SqliteStore(db, migrations=sqlite_store.MIGRATIONS[:-1])


# What code from before SQLite's schema version 3 ran to move balances (from git history): its own
# UPDATE of accounts.balance, beside the lines' INSERT, where version 3's trigger adds too.
PRE_V3_BALANCE_WRITES = {
    # 8ea47d4 (the first host) to 2d3a27b: one UPDATE a posting line
    "per line": ("UPDATE accounts SET balance = balance + ? WHERE id = ?",
                 [(-500, "card:1"), (500, "merchant:M1")]),
    # 2d3a27b to 2809694 (version 3): one UPDATE a posting, _balances_sql(2)
    "per posting": ("UPDATE accounts SET balance = balance + CASE id WHEN ? THEN ? WHEN ? THEN ? "
                    "END WHERE id IN (?, ?)",
                    [("card:1", -500, "merchant:M1", 500, "card:1", "merchant:M1")]),
}


def _two_accounts(db: Path, migrations: tuple[Migration, ...]) -> None:
    store = sqlite_store.SqliteStore(db, migrations=migrations)
    store.begin()
    store.ensure_account("card:1", "card")
    store.ensure_account("merchant:M1", "merchant")
    store.commit()
    store.close()


def _post_as_before_v3(db: Path, how: str) -> None:
    """A sale of 5 yuan as code from before version 3 wrote it, in one transaction."""
    update, params = PRE_V3_BALANCE_WRITES[how]
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            pid = conn.execute("INSERT INTO postings (kind, ref, created_at) VALUES (?,?,?)",
                               ("sale", "T1/1", "x")).lastrowid
            conn.execute("INSERT INTO posting_lines (posting_id, line, account, amount) "
                         "VALUES (?, 0, ?, ?), (?, 1, ?, ?)",
                         (pid, "card:1", -500, pid, "merchant:M1", 500))
            for values in params:
                conn.execute(update, values)
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise


@pytest.mark.parametrize("how", PRE_V3_BALANCE_WRITES)
def test_code_from_before_the_trigger_moved_balances_twice_at_version_3(
        tmp_path: Path, how: str) -> None:
    """Why version 4 exists: without the newer-than check, such code wrote on."""
    db = tmp_path / "h.db"
    _two_accounts(db, sqlite_store.MIGRATIONS[:3])
    _post_as_before_v3(db, how)
    with closing(sqlite_store.read_only(db)) as conn:
        assert dict(conn.execute("SELECT id, balance FROM accounts")) == {
            "card:1": -1000, "merchant:M1": 1000}


@pytest.mark.parametrize("how", PRE_V3_BALANCE_WRITES)
def test_code_from_before_the_trigger_fails_on_the_newest_schema_and_moves_nothing(
        tmp_path: Path, how: str) -> None:
    db = tmp_path / "h.db"
    _two_accounts(db, sqlite_store.MIGRATIONS)
    with pytest.raises(sqlite3.OperationalError, match="no such column: balance"):
        _post_as_before_v3(db, how)
    with closing(sqlite_store.read_only(db)) as conn, pytest.raises(sqlite3.OperationalError,
                                                       match="no such column: balance"):
        conn.execute("SELECT balance FROM accounts WHERE id = ?", ("card:1",))  # its reads too
    store = open_store(db)
    assert store.postings() == []
    assert [b for _, _, b in store.account_balances()] == [0, 0] and check(store).ok
    store.close()


def test_a_database_made_before_versions_under_1_0_reaches_the_newest(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE terminals (tid TEXT PRIMARY KEY, mid TEXT NOT NULL, "
                     "tmk TEXT NOT NULL, pik TEXT, mak TEXT, tdk TEXT, key_gen INTEGER NOT NULL "
                     "DEFAULT 0, signed_in INTEGER NOT NULL DEFAULT 0, batch INTEGER NOT NULL "
                     "DEFAULT 1, txn_limit INTEGER NOT NULL)")
        conn.execute("CREATE TABLE txns (id INTEGER PRIMARY KEY, tid TEXT NOT NULL, "
                     "batch INTEGER NOT NULL, stan INTEGER NOT NULL, mti TEXT NOT NULL, "
                     "kind TEXT NOT NULL, content_hash TEXT, amount INTEGER NOT NULL, "
                     "pan_ref TEXT, account TEXT, rc TEXT NOT NULL, rrn TEXT NOT NULL, "
                     "auth_code TEXT NOT NULL, response TEXT NOT NULL, state TEXT NOT NULL, "
                     "refunded INTEGER NOT NULL DEFAULT 0, orig_id INTEGER, "
                     "created_at TEXT NOT NULL, UNIQUE (tid, batch, stan, mti))")
        conn.execute("INSERT INTO terminals (tid, mid, tmk, txn_limit) "
                     "VALUES ('T0000001', 'M1', 'AA', 100)")
        conn.execute("INSERT INTO txns (tid, batch, stan, mti, kind, amount, rc, rrn, auth_code, "
                     "response, state, created_at) VALUES ('T0000001', 1, 1, '0200', 'sale', "
                     "100, '00', '000000000001', '123456', ?, 'approved', 'now')",
                     (json.dumps({"2": "6222020000000001", "37": "000000000001"}),))
    store = open_store(db)
    assert store.schema_version() == NEWEST
    term = store.terminal("T0000001")
    assert term is not None and term.mac == "pos_ecb" and term.status == "active"
    (row,) = store.terminal_txns("T0000001")
    assert row.response == {"37": "000000000001"} and row.fingerprint == ""
    store.close()


@pytest.mark.parametrize("after_a_posting", [False, True], ids=["alone", "with its posting"])
@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_every_field_of_a_txn_row_is_written_and_read_back(store_url: str,
                                                           after_a_posting: bool) -> None:
    """INSERT_TXN's columns and its parameters in the same order (PostgreSQL sends the row with
    the posting before it, in one statement)."""
    row = TxnRow("T0000001", 3, 17, "0200", "sale", "hash", 1234, "ref9", "card:9", "00",
                 "000000000042", "654321", {"37": "000000000042", "39": "00"}, "voided", 200, 7,
                 "fp")
    store = open_store(store_url)
    store.begin()
    if after_a_posting:
        for account in ("card:9", "merchant:M1"):
            store.ensure_account(account, account.split(":")[0])
        store.post(Posting("sale", "T1/17", (("card:9", -1234), ("merchant:M1", 1234))))
    store.insert_txn(row)
    store.commit()
    got = store.txn("T0000001", 3, 17, "0200")
    assert got is not None and got == replace(row, id=got.id)
    assert check(store).ok
    store.close()


def test_a_file_that_is_no_database_is_a_store_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match="not a database"):
        open_store(junk)


# -- PostgreSQL: the same steps from new and from the previous version -------------------------
@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema("host_store") as url:
        yield url


def test_a_new_postgresql_database_is_at_the_newest_version(pg_url: str) -> None:
    store = open_store(pg_url)
    assert store.schema_version() == latest(pg_store.MIGRATIONS)
    store.close()


def test_a_postgresql_database_at_the_previous_version_keeps_its_money_and_rrns(
        pg_url: str) -> None:
    old = pg_store.PgStore(pg_url, migrations=pg_store.MIGRATIONS[:-1])
    assert old.schema_version() == latest(pg_store.MIGRATIONS) - 1
    old.begin()  # what the code of that version wrote: a sale of 5 yuan, RRNs one at a time
    for sql in ("INSERT INTO accounts (id, kind) VALUES ('card:1', 'card'), "
                "('merchant:M1', 'merchant')",
                "INSERT INTO account_shards (account, shard, balance) "
                "VALUES ('card:1', 0, -500), ('merchant:M1', 1, 500)",
                "INSERT INTO postings (kind, ref, created_at) VALUES ('sale', 'T1/1', 'x')",
                "INSERT INTO posting_lines (posting_id, account, amount) "
                "SELECT id, 'card:1', -500 FROM postings UNION ALL "
                "SELECT id, 'merchant:M1', 500 FROM postings"):
        old.ddl(sql)
    old.commit()
    given = [int(old._run("SELECT nextval('rrn_seq')").fetchone()[0]) for _ in range(3)]
    assert given == [1, 2, 3]
    old.close()
    store, other = open_store(pg_url), open_store(pg_url, worker=1)
    assert store.schema_version() == latest(pg_store.MIGRATIONS)
    # Two workers draw RRNs in blocks: none given before, none twice.
    drawn = [s.next_value("rrn") for _ in range(2 * RRN_BLOCK) for s in (store, other)]
    assert len(set(drawn)) == len(drawn) and min(drawn) > max(given)
    store.begin()
    store.post(Posting("refund", "T1/2", (("merchant:M1", -200), ("card:1", 200))))
    store.commit()
    assert {a: b for a, _, b in other.account_balances()} == {"card:1": -300, "merchant:M1": 300}
    assert check(other).ok
    store.close()
    other.close()


def test_no_accounts_balance_is_left_for_older_code_on_postgresql(pg_url: str) -> None:
    """PostgreSQL has no trigger, and its version 3 (its first) moved balances to shard rows:
    the UPDATE of code from before SQLite's version 3 fails there as well."""
    open_store(pg_url).close()
    update, values = PRE_V3_BALANCE_WRITES["per line"]
    with closing(psycopg.connect(pg_url)) as conn, pytest.raises(psycopg.errors.UndefinedColumn):
        conn.execute(update.replace("?", "%s"), values[0])


def test_reading_the_card_that_pays_locks_its_account_on_postgresql(pg_url: str) -> None:
    """A second worker's sale on the same card waits for the first (here: gives up after the
    lock timeout), so two sales never both spend the same balance."""
    first, second = open_store(pg_url), open_store(pg_url, worker=1)
    first.begin()
    card_id = first.add_card(CardRow(0, "ref1", "622202******0001", "3012", "active",
                                     "magstripe", "01", "v"))
    first.ensure_account("issuer:funding", "issuer")
    first.ensure_account(f"card:{card_id}", "card")
    first.post(Posting("opening", "card ref1", (("issuer:funding", -500), (f"card:{card_id}",
                                                                           500))))
    first.commit()
    try:
        first.begin()
        paying = first.card("ref1", pays=True)
        assert paying is not None and first.balance(paying.account, for_update=True) == 500
        second.begin()
        with pytest.raises(StoreConflict):
            second.card("ref1", pays=True)
        second.rollback()
        assert second.card("ref1") is not None  # reading it without paying waits for nothing
    finally:
        for store in (first, second):
            store.rollback()
            store.close()
