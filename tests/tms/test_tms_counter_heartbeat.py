"""The counter screen's background heartbeat: a terminal activated through the TMS heartbeats
while the screen is open, and follows the answer (newer parameters applied between payments); a
TMS that cannot be reached is a line on the screen, not a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static
from tmskit import DeviceApi, Tms, active

from steadypos.terminal.counter.app import CounterApp
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import Journal
from steadypos.terminal.tmsclient import TmsClient

VALUES = {"host": "127.0.0.1", "port": 5000, "tpdu": "6000030000", "timeout_s": 40,
          "txn_limit_fen": 2_000_000, "receipt_header": "西湖茶馆"}


@pytest.fixture(scope="module")
def tms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tms]:
    """SQLite: the parameters are checked against the host's registry, embedded with it."""
    root = tmp_path_factory.mktemp("tms")
    tms = Tms.start(str(root / "host.db"), root / "ca", "sqlite")
    yield tms
    tms.ctx.engine.dispose()


def journal_of(tmp: Path, tid: str, mid: str) -> Path:
    journal = tmp / "t.journal"
    Terminal.init(journal, "127.0.0.1", 5000, tid, mid, bytes(16))
    j = Journal(journal)
    j.set_config({"params_version": "0"})
    j.close()
    return journal


def run(app: CounterApp, done: Any) -> None:
    async def script() -> None:
        async with app.run_test(size=(110, 42)) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not done() and loop.time() < deadline:
                await pilot.pause(0.05)

    asyncio.run(script())


def test_the_counter_heartbeats_and_applies_new_parameters(tms: Tms, tmp_path: Path) -> None:
    mid = tms.merchant()
    (tid, token), = active(tms, mid, register=True)
    made = tms.ok("POST", "/parameter-templates", 201, json={"name": f"c-{tid}",
                                                             "values": VALUES})
    tms.ok("POST", f"/parameter-templates/{made['id']}/assign", json={"target": {"tids": [tid]}})
    journal = journal_of(tmp_path, tid, mid)
    app = CounterApp(journal, "en", tms=DeviceApi(tms.client, token), heartbeat_every=0.2)
    run(app, lambda: app.heartbeats >= 2)
    assert app.heartbeats >= 2
    seen = tms.ok("GET", f"/terminals/{tid}")
    assert seen["last_heartbeat"] and seen["params_version"] == made["version"]
    cfg = Journal(journal).config()
    assert (cfg["params_version"], cfg["timeout"]) == (str(made["version"]), "40")


def test_an_unreachable_tms_is_a_line_on_the_screen(tms: Tms, tmp_path: Path) -> None:
    (tid, _), = active(tms, tms.merchant())
    journal = journal_of(tmp_path, tid, "898600000000001")
    app = CounterApp(journal, "en", tms=TmsClient("http://127.0.0.1:9", "x", timeout=2),
                     heartbeat_every=0.2)

    notices: list[str] = []

    def told() -> bool:
        notices.append(str(app.query_one("#notice", Static).render()))
        return "heartbeat not delivered to the TMS" in notices[-1]

    run(app, told)
    assert "cannot reach the TMS" in notices[-1] and app.heartbeats == 0
