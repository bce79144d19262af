"""Fixtures of the host tests; the helpers they use live in hostkit.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit import Host, TestTerminal


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    h = Host(tmp_path / "h.db")
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
