"""PostgreSQL for tests: the server on 127.0.0.1:5432 (database `test`), a fresh schema per use,
and the reason to skip when no server answers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_URL = "postgresql://127.0.0.1:5432/test"


def pg_reason() -> str | None:
    """Why a PostgreSQL run cannot happen here, or None when a server answers."""
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {PG_URL}: {exc}".splitlines()[0]
    return None


def fresh_schema(prefix: str) -> tuple[str, str]:
    """A new empty schema and the URL whose connections use it."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{PG_URL}?options=-csearch_path%3D{name}"


def drop_schema(name: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A fresh schema's URL, dropped afterwards; the test is skipped, with the reason, when no
    server answers."""
    reason = pg_reason()
    if reason:
        pytest.skip(reason)
    schema, url = fresh_schema(prefix)
    try:
        yield url
    finally:
        drop_schema(schema)
