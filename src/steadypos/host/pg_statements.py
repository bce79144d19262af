"""PostgreSQL statements run straight through libpq (psycopg's `pq` layer), for the host's hot
path: each statement prepared once per connection and then run with one PQexecPrepared, its
parameters dumped and its rows loaded by psycopg's own adapters (the same types, values and
`psycopg.errors` as a cursor's), without the cursor's per-statement Python (about 11 against 33
µs of CPU a statement here). The GIL is released while libpq waits for the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast

import psycopg
from psycopg import abc as pg_abc
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

MAX_PREPARED = 512  # statements prepared on one connection; any beyond run unprepared
_PLACEHOLDER = re.compile(r"%(.?)", re.DOTALL)  # a lone % at the end: an error, as psycopg says
_OK = frozenset({pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY})


def numbered(sql: str) -> bytes:
    """`sql` in psycopg's format paramstyle (`%s`, `%%`) as PostgreSQL's own ($1, $2, ...)."""
    n = 0

    def one(m: re.Match[str]) -> str:
        nonlocal n
        if m.group(1) == "%":
            return "%"
        if m.group(1) != "s":
            raise psycopg.ProgrammingError(
                f"only %s placeholders are supported, not %{m.group(1) or ' at the end'}")
        n += 1
        return f"${n}"

    return _PLACEHOLDER.sub(one, sql).encode()


class Rows:
    """A statement's rows, read as from a cursor: fetchone, fetchall, iteration."""

    __slots__ = ("_tx", "_next", "_count", "rowcount")

    def __init__(self, conn: psycopg.Connection[Any], res: pq.abc.PGresult) -> None:
        self._count = res.ntuples
        self._next = 0
        self.rowcount = res.command_tuples if res.command_tuples is not None else -1
        self._tx: pg_abc.Transformer | None = None
        if self._count:
            self._tx = Transformer(conn)  # a few hundred ns: each result keeps its own
            self._tx.set_pgresult(res)

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= self._count:
            return None
        assert self._tx is not None
        row: tuple[Any, ...] = self._tx.load_row(self._next, tuple)
        self._next += 1
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._next >= self._count:
            return []
        assert self._tx is not None
        rows: list[tuple[Any, ...]] = self._tx.load_rows(self._next, self._count, tuple)
        self._next = self._count
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


class Statements:
    """One connection's statements: prepared at first use, keyed by text and parameter types
    (as psycopg keys its own), so the server types every parameter as a cursor would have."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._pg = conn.pgconn
        self._dumper = Transformer(conn)
        self._texts: dict[str, bytes] = {}
        self._prepared: dict[tuple[str, tuple[int, ...]], bytes] = {}
        self._formats: dict[int, list[PyFormat]] = {}

    def run(self, sql: str, params: tuple[Any, ...]) -> Rows:
        text = self._texts.get(sql)
        if text is None:
            text = self._texts[sql] = numbered(sql)
        if not params:
            return self._rows(self._pg.exec_(text))
        formats = self._formats.get(len(params))
        if formats is None:
            formats = self._formats[len(params)] = [PyFormat.TEXT] * len(params)
        # None in the list is a NULL to libpq (the stubs leave it out)
        args = cast(list[bytes], self._dumper.dump_sequence(params, formats))
        types = self._dumper.types or ()
        name = self._prepared.get((sql, types))
        if name is None:
            if len(self._prepared) >= MAX_PREPARED:
                return self._rows(self._pg.exec_params(text, args, types))
            name = self._prepare(sql, types, text)
        return self._rows(self._pg.exec_prepared(name, args))

    def _prepare(self, sql: str, types: tuple[int, ...], text: bytes) -> bytes:
        name = f"steadypos_{len(self._prepared)}".encode()
        self._check(self._pg.prepare(name, text, types))
        self._prepared[(sql, types)] = name  # a session's object: no rollback undoes it
        return name

    def _rows(self, res: pq.abc.PGresult) -> Rows:
        self._check(res)
        return Rows(self._conn, res)

    def _check(self, res: pq.abc.PGresult) -> None:
        if res.status not in _OK:
            raise pg_errors.error_from_result(res, encoding=self._conn.info.encoding)
