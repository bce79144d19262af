"""Fixtures of the host tests; the helpers they use live in hostkit.py. `host` runs each test on
both stores: SQLite in a temporary folder, PostgreSQL in a fresh schema (skipped, with the reason,
when no server answers at 127.0.0.1:5432)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit import BACKENDS, Host, TestTerminal, database


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh host database on the backend the test is parametrized with (default SQLite)."""
    with database(getattr(request, "param", "sqlite"), tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Host]:
    with database(request.param, tmp_path) as url:
        h = Host(url) if request.param == "sqlite" else Host(url, keys=tmp_path / "h.keys")
        yield h
        h.close()


@pytest.fixture
def term(host: Host) -> TestTerminal:
    """T0000001 of merchant A, signed in."""
    t = TestTerminal(host, "T0000001")
    assert t.sign_in().get(39) == "00"
    return t


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for `steadypos` subprocesses: unbuffered, wide enough that rich never wraps."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
