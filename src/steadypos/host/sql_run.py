"""How the SQL stores run a statement: portable SQL with :named parameters, compiled once per
backend into its driver's own SQL (SQLAlchemy's compiler, which knows each paramstyle and
quoting); driver errors as StoreError; transactions, savepoints and the schema version."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from operator import itemgetter
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.engine import Dialect


class StoreError(Exception):
    """The database cannot be opened, read or written (whatever the backend's driver said)."""


class StoreConflict(StoreError):
    """Another process changed the same rows first (a unique key taken, a deadlock): the same
    request run again sees what it committed."""


Binder = Callable[[dict[str, Any]], tuple[Any, ...]]


def _binder(names: tuple[str, ...]) -> Binder:
    """What turns a statement's named parameters into the driver's tuple, in `names` order."""
    if len(names) > 1:
        return itemgetter(*names)
    if names:
        name = names[0]
        return lambda params: (params[name],)
    return lambda params: ()


def store_error(exc: BaseException) -> StoreError:
    """The driver's error as a StoreError saying its first line."""
    said = str(exc).strip()
    return StoreError(said.splitlines()[0] if said else type(exc).__name__)


class SqlRun:
    """One connection, used by one thread at a time (the host's writer). A backend supplies
    `_execute`, `_insert_returning_id`, `_begin`, `_commit`, `_rollback` and `has_table`."""

    dialect: ClassVar[Dialect]
    driver_error: ClassVar[type[Exception]]
    # Appended to the reads of rows a request may change next (its original, the paying
    # account): nothing for one writer (SQLite), a row lock where several processes write.
    lock: ClassVar[str] = ""
    row_locks: ClassVar[bool] = False  # whether terminal(lock=...) locks
    # Whether rows read in a transaction may be kept for the next ones: only where one
    # connection writes and can tell, at each begin(), whether any other changed the database
    # since (SQLite's data_version). Kept rows are used only inside a transaction.
    keeps_rows: ClassVar[bool] = False
    _compiled: ClassVar[dict[str, tuple[str, Binder]]]

    def __init__(self) -> None:
        self._kept = False  # whether kept rows may be used now

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._compiled = {}

    # -- backend hooks -------------------------------------------------------------------
    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _insert_returning_id(self, sql: str, params: dict[str, Any]) -> int:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def _changed_elsewhere(self) -> bool:
        """Whether another connection committed since the last call (`keeps_rows` stores)."""
        return True

    def _undone(self, committed: bool) -> None:
        """What the store remembers between statements, told that a transaction ended
        (`committed`) or that some of it was undone (not `committed`)."""

    def _forget_kept(self) -> None:
        """Drop the rows kept between transactions (another connection may have changed them,
        or a rollback undid what they say)."""

    # -- running statements --------------------------------------------------------------
    def _sql(self, sql: str) -> tuple[str, Binder]:
        """The driver's text of `sql` and what orders its parameters, compiled at first use."""
        found = self._compiled.get(sql)
        if found is None:
            compiled = text(sql).compile(dialect=self.dialect)
            found = (compiled.string, _binder(tuple(compiled.positiontup or ())))
            self._compiled[sql] = found
        return found

    def _run(self, sql: str, **params: Any) -> Any:
        """The cursor of one statement."""
        return self._run_dict(sql, params)

    def _run_dict(self, sql: str, params: dict[str, Any]) -> Any:
        driver_sql, bind = self._sql(sql)
        try:
            return self._execute(driver_sql, bind(params))
        except self.driver_error as exc:
            raise store_error(exc) from exc

    def _run_seq(self, sql: str, values: tuple[Any, ...]) -> Any:
        """The cursor of a statement whose parameters are `values` in the order they appear in
        `sql` (a name written twice takes two values): no names to look up, for the statements
        of many rows a sale runs."""
        try:
            return self._execute(self._sql(sql)[0], values)
        except self.driver_error as exc:
            raise store_error(exc) from exc

    def ddl(self, sql: str) -> None:
        """One schema statement, as written (migrations)."""
        try:
            self._execute(sql, ())
        except self.driver_error as exc:
            raise store_error(exc) from exc

    # -- transactions --------------------------------------------------------------------
    def begin(self) -> None:
        self._begin()
        if self.keeps_rows:
            if self._changed_elsewhere():
                self._forget_kept()
            self._kept = True

    def commit(self) -> None:
        self._kept = False
        self._commit()  # a failed commit is followed by rollback(), which forgets
        self._undone(committed=True)

    def rollback(self) -> None:
        self._kept = False
        try:
            self._rollback()
        finally:
            self._forget_kept()
            self._undone(committed=False)

    def pipelined(self) -> AbstractContextManager[Any]:
        """Within it, statements whose results nobody reads may go to the server without waiting
        for its answer (errors then surface at a later statement); none here by default."""
        return contextlib.nullcontext()

    def savepoint(self, name: str) -> None:
        self._run(f"SAVEPOINT {name}")

    def release(self, name: str) -> None:
        self._run(f"RELEASE SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        self._forget_kept()
        self._undone(committed=False)
        self._run(f"ROLLBACK TO SAVEPOINT {name}")

    # -- the schema's version ------------------------------------------------------------
    def schema_version(self) -> int:
        """The migration the database is at (host/migrate.py); 0: none ran."""
        if not self.has_table("host_schema"):
            return 0
        row = self._run("SELECT version FROM host_schema").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version: int) -> None:
        self.ddl("CREATE TABLE IF NOT EXISTS host_schema (version INTEGER NOT NULL)")
        self._run("DELETE FROM host_schema")
        self._run("INSERT INTO host_schema (version) VALUES (:version)", version=version)
