"""Fixtures of the terminal tests: a seeded host in-process, a recording proxy in front of it,
and terminal T0000001 initialised against the proxy (see rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rig import HostRig, Proxy, TerminalRig


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console says results in the locale's language; these tests read English unless they
    ask for `--lang zh` (a machine with no locale set would say Chinese)."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostRig]:
    rig = HostRig(tmp_path / "host.db").start()
    yield rig
    rig.stop()


@pytest.fixture
def proxy(host: HostRig) -> Iterator[Proxy]:
    p = Proxy(host.port)
    yield p
    p.close()


@pytest.fixture
def term(tmp_path: Path, host: HostRig, proxy: Proxy) -> TerminalRig:
    """T0000001, initialised (5 s timeout), not signed in."""
    t = TerminalRig(tmp_path, host, proxy)
    t.init()
    return t


@pytest.fixture
def signed(term: TerminalRig) -> TerminalRig:
    """T0000001, signed in."""
    term.sign_in()
    return term
