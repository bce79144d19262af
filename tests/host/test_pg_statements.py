"""The PostgreSQL store's statements straight through libpq give what a psycopg cursor gives:
the same rows and types, NULLs both ways, the same psycopg.errors, a parameter typed by its
value as psycopg types it, and `%%` and `%s` read as psycopg reads them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from support.pg import pg_schema

from steadypos.host import pg_statements
from steadypos.host.pg_statements import Statements, numbered


def test_placeholders_are_numbered_and_a_doubled_percent_is_one() -> None:
    assert numbered("SELECT %s, '100%%', %s") == b"SELECT $1, '100%', $2"
    with pytest.raises(psycopg.ProgrammingError, match="%d"):
        numbered("SELECT %d")
    with pytest.raises(psycopg.ProgrammingError, match="at the end"):
        numbered("SELECT 1 %")


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[Any]]:
    with pg_schema("stmts") as url, psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, amount BIGINT, ok BOOLEAN)")
        yield c


def test_rows_values_and_nulls_are_a_cursors(conn: psycopg.Connection[Any]) -> None:
    run = Statements(conn).run
    insert = "INSERT INTO t (id, name, amount, ok) VALUES (%s, %s, %s, %s)"
    assert run(insert, (1, "甲", 5, True)).rowcount == 1
    run(insert, (2, None, 2**40, None))  # a value psycopg types int8, where 5 was int2
    run(insert, (3, "c", -7, False))
    select = "SELECT id, name, amount, ok FROM t WHERE id >= %s ORDER BY id"
    expected = conn.execute(select, (1,)).fetchall()
    assert run(select, (1,)).fetchall() == expected == [
        (1, "甲", 5, True), (2, None, 2**40, None), (3, "c", -7, False)]
    rows = run(select, (2,))
    assert rows.fetchone() == (2, None, 2**40, None)
    assert list(rows) == [(3, "c", -7, False)]  # iteration goes on from there
    assert rows.fetchone() is None and rows.fetchall() == []
    total = run("SELECT COALESCE(SUM(amount), 0) FROM t WHERE id <> %s", (0,)).fetchone()
    assert total == (Decimal(5 + 2**40 - 7),)
    assert run("SELECT 1 FROM t WHERE id = %s", (9,)).fetchone() is None


def test_each_result_is_its_own(conn: psycopg.Connection[Any]) -> None:
    run = Statements(conn).run
    for i in range(3):
        run("INSERT INTO t (id, amount) VALUES (%s, %s)", (i, i * 10))
    outer = run("SELECT id FROM t ORDER BY id", ())
    pairs = [(i, run("SELECT amount FROM t WHERE id = %s", (i,)).fetchone()) for (i,) in outer]
    assert pairs == [(0, (0,)), (1, (10,)), (2, (20,))]


def test_errors_are_psycopgs_and_the_connection_goes_on(conn: psycopg.Connection[Any]) -> None:
    run = Statements(conn).run
    insert = "INSERT INTO t (id, amount) VALUES (%s, %s)"
    run(insert, (1, 1))
    with pytest.raises(pg_errors.UniqueViolation):
        run(insert, (1, 2))
    with pytest.raises(pg_errors.UndefinedTable):
        run("SELECT * FROM nowhere WHERE id = %s", (1,))  # a statement that fails to prepare
    with pytest.raises(pg_errors.SyntaxError):
        run("SELEC 1", ())
    run("BEGIN", ())
    run(insert, (2, 2))
    run("ROLLBACK", ())  # the prepared statement outlives the transaction that prepared it
    run(insert, (3, 3))
    assert run("SELECT id, amount FROM t ORDER BY id", ()).fetchall() == [(1, 1), (3, 3)]


def test_beyond_the_prepared_cap_statements_run_unprepared(conn: psycopg.Connection[Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_statements, "MAX_PREPARED", 1)
    run = Statements(conn).run
    run("INSERT INTO t (id, amount) VALUES (%s, %s)", (1, 10))
    for _ in range(2):  # not prepared, yet the same answer each time
        assert run("SELECT amount FROM t WHERE id = %s", (1,)).fetchone() == (10,)
    names = conn.execute("SELECT count(*) FROM pg_prepared_statements "
                         "WHERE name LIKE 'steadypos_%%'").fetchone()
    assert names == (1,)
