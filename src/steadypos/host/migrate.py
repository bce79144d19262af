"""Versioned schema migrations, one runner for every backend: the `host_schema` table holds the
version a database is at, and each step brings it one version further in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from steadypos.host.sql_run import StoreError

log = logging.getLogger("steadypos.host")


class Migratable(Protocol):
    def schema_version(self) -> int: ...
    def set_schema_version(self, version: int) -> None: ...
    def ddl(self, sql: str) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


@dataclass(frozen=True)
class Migration:
    """One step of the schema: the version it brings a database to, and how."""

    version: int
    what: str
    apply: Callable[[Migratable], None]


def ddl_step(version: int, what: str, *statements: str) -> Migration:
    """A step that runs these statements, in order."""

    def apply(db: Migratable) -> None:
        for sql in statements:
            db.ddl(sql)

    return Migration(version, what, apply)


def upgrade(db: Migratable, steps: Sequence[Migration]) -> list[Migration]:
    """Run the steps above the database's version, each in its own transaction; a no-op on a
    database at the newest. Returns the steps run; logs them unless the database was new."""
    done: list[Migration] = []
    at = db.schema_version()
    if steps and at > latest(steps):
        # Older code on a newer schema could write what it no longer means (SQLite's version 3
        # moves balances by a trigger: an older host's own UPDATE would count every sale twice;
        # code from before this check fails on version 4's renamed column instead).
        raise StoreError(f"the host database is at schema version {at}, newer than this "
                         f"host's {latest(steps)}: run a newer steadypos")
    known = at > 0
    for step in steps:
        if step.version <= db.schema_version():
            continue
        db.begin()
        try:
            step.apply(db)
            db.set_schema_version(step.version)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        if known:
            log.info("host database upgraded to schema version %d: %s", step.version, step.what)
        done.append(step)
    return done


def latest(steps: Sequence[Migration]) -> int:
    return max(s.version for s in steps)
