"""A host process on PostgreSQL runs with a short GIL switch interval (server.PG_SWITCH_INTERVAL),
so that its writer thread, back from each round trip to the server, does not wait out the loop
thread's default 5 ms for the GIL; a host on SQLite keeps the interpreter's default. Both ways
into a host process are checked: `steadypos host` and a `--workers` worker."""

from __future__ import annotations

import socket
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit import BACKENDS, database
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.host import commands, server, workers
from steadypos.host.app import open_secrets
from steadypos.host.settings import HostSettings
from steadypos.host.store import StoreUrl


@pytest.fixture
def interval() -> Iterator[float]:
    """The interpreter's switch interval, put back after the test."""
    before = sys.getswitchinterval()
    yield before
    sys.setswitchinterval(before)


def test_run_shortens_the_interval_only_for_a_store_that_waits(interval: float) -> None:
    async def now() -> float:
        return sys.getswitchinterval()

    assert interval > server.PG_SWITCH_INTERVAL  # the default, 5 ms
    assert server.run(now()) == interval
    assert server.run(now(), store_waits=True) == server.PG_SWITCH_INTERVAL


def _recording(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[bool]:
    """Replace `module.run` (server.run, imported there) by one that records store_waits."""
    seen: list[bool] = []

    def record(main: Coroutine[Any, Any, Any], *, store_waits: bool = False) -> None:
        main.close()  # never run: the host would serve until a signal
        seen.append(store_waits)

    monkeypatch.setattr(module, "run", record)
    return seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_steadypos_host_says_whether_its_store_waits(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _recording(monkeypatch, commands)
    with database(backend, tmp_path) as url:
        result = CliRunner().invoke(app, ["host", "--db", url, "--keys", str(tmp_path / "h.keys"),
                                          "--port", "0", "--seed-demo"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen == [backend == "postgresql"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_says_whether_its_store_waits(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _recording(monkeypatch, workers)
    with database(backend, tmp_path) as url, socket.socket() as sock:
        secrets = open_secrets(tmp_path / "h.keys", True)
        workers._worker(0, sock, StoreUrl.parse(url), secrets, HostSettings())
    assert seen == [backend == "postgresql"]
