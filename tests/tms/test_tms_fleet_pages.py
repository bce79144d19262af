"""The part-2 pages in a real headless Chromium: a parameter template made and assigned from its
forms (a wrong TPDU refused with the field named), a hand-edited terminal in the drift list and
repaired by the push button; a bad release's rollout halted by itself, with both crash-free rates
and the plot of the new release against the one it replaces; a terminal's health and history.
Each test logs in and makes its own data (under xdist they may run in different workers)."""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import browser
import pytest
from browser import log_in, shoot
from tmskit import DeviceApi, Tms, active

from steadypos.terminal import fleet
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import Journal
from steadypos.tms.services import telemetry

pytestmark = browser.needs_chromium
VALUES = {"host": "127.0.0.1", "port": "5000", "tpdu": "6000030000", "timeout_s": "40",
          "txn_limit_fen": "2000000", "receipt_header": "西湖茶馆"}


@pytest.fixture(scope="module")
def tms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tms]:
    """SQLite only: the pages read the services whose API tests run on both backends, and the
    drift needs the host's registry (embedded with SQLite)."""
    root = tmp_path_factory.mktemp("tms")
    tms = Tms.start(str(root / "host.db"), root / "ca", "sqlite")
    yield tms
    tms.ctx.engine.dispose()


def beat(tms: Tms, tid: str, token: str, version: str, started: int, crashed: int,
         **extra: Any) -> dict[str, Any]:
    body = {"tid": tid, "ts": datetime.now(UTC).isoformat(), "app_version": version,
            "params_version": 0, "health": extra.pop("health", {"battery_pct": 80}),
            "sessions": {version: {"started": started, "crashed": crashed}} if started else {},
            **extra}
    return dict(DeviceApi(tms.client, token).call("POST", "/heartbeats", body))


def publish(tms: Tms, version: str, model: str, firmware: str = "*") -> None:
    package = f"steadypos release {version}".encode()
    tms.ok("POST", "/releases", 201, json={
        "version": version, "sha256": hashlib.sha256(package).hexdigest(),
        "compatible": [{"brand": "PAX", "model": model, "firmware": firmware}],
        "notes": "built for the pages' test", "package": base64.b64encode(package).decode()})


def fill_values(page: Any, form: str, **over: str) -> None:
    for name, value in {**VALUES, **over}.items():
        page.fill(f"{form} input[name={name}]", value)


def test_a_template_from_the_forms_and_a_drift_repaired_by_a_push(
        tms: Tms, page: Any, tmp_path: Path) -> None:
    mid = tms.merchant()
    (tid, token), = active(tms, mid, register=True)
    log_in(page, "/ui/parameters")
    assert page.locator("nav a.on").inner_text() == "参数"
    # A TPDU that would break the next sign-in: refused, the field named, nothing made.
    page.fill("#template-form input[name=name]", f"bad-{tid}")
    fill_values(page, "#template-form", tpdu="6000040000")
    page.click("#template-create")
    assert "values.tpdu" in page.inner_text("main")
    page.goto("/ui/parameters")
    assert f"bad-{tid}" not in page.inner_text("#templates")
    page.fill("#template-form input[name=name]", f"teahouse-{tid}")
    fill_values(page, "#template-form")
    page.click("#template-create")
    page.wait_for_url(re.compile(r".*/ui/parameters/\d+$"))
    version = int(page.inner_text("#template-version").lstrip("v"))
    page.select_option("#assign-form select[name=target_kind]", "tids")
    page.fill("#assign-form input[name=target_value]", tid)
    page.click("#assign")
    row = page.locator(f"#assigned-{tid}")
    assert f"v{version}" in row.inner_text() and "待更新" in row.inner_text()

    # The terminal fetches them, then a technician edits its TPDU by hand.
    journal = tmp_path / "t.journal"
    Terminal.init(journal, "127.0.0.1", 5000, tid, mid, bytes(16))
    j = Journal(journal)
    j.set_config({"params_version": "0"})  # a fresh device has none yet
    j.close()
    agent = fleet.Agent(journal, DeviceApi(tms.client, token), say=print)
    agent.heartbeat()
    j = Journal(journal)
    assert j.config()["params_version"] == str(version)
    fleet.edit_params(j, {"tpdu": "6000040000"})
    j.close()
    agent.heartbeat()
    page.goto("/ui/parameters")
    drifted = page.locator(f"#drift-{tid}")
    assert drifted.locator("li.drift-field").evaluate_all(
        "els => els.map(e => e.dataset.field)") == ["tpdu"]
    assert "6000030000" in drifted.inner_text() and "6000040000" in drifted.inner_text()
    shoot(page, "parameters", tmp_path)
    page.click(f"#push-{tid}")
    page.wait_for_url("**/ui/parameters*")
    agent.heartbeat()  # the instructions name the parameters: fetched and applied again
    assert Journal(journal).config()["tpdu"] == "6000030000"
    page.goto("/ui/parameters")
    assert page.locator(f"#drift-{tid}").count() == 0


def test_a_bad_release_halts_itself_and_the_page_shows_why(tms: Tms, page: Any,
                                                           tmp_path: Path) -> None:
    model = f"A9{random.randrange(10**6):06d}"  # this test's own fleet: its own target
    fleet_ = active(tms, tms.merchant(), 20, model=model)
    release = f"9.0.{model}"
    publish(tms, release, model)
    rollout = tms.ok("POST", "/rollouts", 201, json={
        "release": release, "target": {"model": model}, "stages": [10, 50, 100],
        "min_sessions": 40, "observe_minutes": 0})["id"]
    running = {tid: "1.0.0" for tid, _ in fleet_}
    rng = random.Random(7)
    for _ in range(3):  # each terminal: 20 sessions a heartbeat; the new release crashes half
        for tid, token in fleet_:
            rate = 0.5 if running[tid] == release else 0.01
            crashed = sum(rng.random() < rate for _ in range(20))
            offer = beat(tms, tid, token, running[tid], 20, crashed).get("release")
            if offer:
                running[tid] = offer["version"]
                beat(tms, tid, token, release, 0, 0,
                     release={"version": release, "state": "switched"})
    log_in(page, "/ui/releases")
    row = page.locator(f"#rollout-{rollout}")
    assert "已暂停" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"**/ui/rollouts/{rollout}")
    assert page.get_attribute("#rollout-state", "data-state") == "halted"
    reason = page.inner_text("#halt-reason")
    assert "已自动暂停" in reason and release in reason and "1.0.0" in reason
    new_pct = float(page.inner_text("#reason-new td:nth-child(2)").rstrip("%"))
    old_pct = float(page.inner_text("#reason-old td:nth-child(2)").rstrip("%"))
    assert new_pct < 75 < 97 < old_pct
    assert int(page.inner_text("#reason-new td:nth-child(3)")) >= 40
    assert page.locator("#stages .stage").all_inner_texts() == ["10%", "50%", "100%"]
    assert page.inner_text("#stages .stage.now") == "10%"  # halted at the first stage
    assert page.inner_text("#rollout-counts").startswith("2 /")  # 10% of 20, nobody else
    # The plot: one line for the new release, one for the one it replaces, the new one lower.
    plot = page.locator("#crash-free-plot")
    assert plot.locator(".series-new").get_attribute("data-label") == release
    assert plot.locator(".series-old").get_attribute("data-label") == "1.0.0"
    low = float(plot.locator(".series-new circle").last.get_attribute("cy") or 0)
    high = float(plot.locator(".series-old circle").last.get_attribute("cy") or 0)
    assert low > high  # SVG's y grows downwards: a lower rate is further down
    shoot(page, "rollout-halted", tmp_path)
    page.click("#rollout-rollback")
    page.wait_for_url(f"**/ui/rollouts/{rollout}")
    assert page.get_attribute("#rollout-state", "data-state") == "rolled_back"
    assert tms.ok("GET", f"/rollouts/{rollout}")["state"] == "rolled_back"


def test_halt_and_resume_by_hand(tms: Tms, page: Any) -> None:
    model = f"A8{random.randrange(10**6):06d}"
    active(tms, tms.merchant(), 3, model=model)
    version = f"8.0.{model}"
    publish(tms, version, model, "PayDroid 8.1")
    rollout = tms.ok("POST", "/rollouts", 201, json={"release": version,
                                                     "target": {"model": model}})["id"]
    log_in(page, f"/ui/rollouts/{rollout}")
    assert page.locator("#plot-empty").count() == 1  # no sessions yet
    page.click("#rollout-halt")
    assert page.get_attribute("#rollout-state", "data-state") == "halted"
    assert "已手动暂停" in page.inner_text("#halt-reason")
    page.click("#rollout-resume")
    assert page.get_attribute("#rollout-state", "data-state") == "running"
    assert page.locator("#rollout-resume").count() == 0


def test_a_terminals_health_and_history(tms: Tms, page: Any, tmp_path: Path) -> None:
    (tid, token), = active(tms, tms.merchant())
    log_in(page, f"/ui/terminals/{tid}")
    assert page.locator("#no-heartbeat").count() == 1
    beat(tms, tid, token, "1.0.0", 12, 2, pending_reversals=1,
         health={"battery_pct": 14, "power": "battery", "signal_dbm": -101,
                 "printer": "paper_out", "mem_free_mb": 90, "mem_total_mb": 1024})
    with tms.ctx.sessions() as db:  # an hour later, nothing heard: the missing alert
        assert tid in telemetry.sweep_missing(db, datetime.now(UTC) + timedelta(hours=1))
    page.goto(f"/ui/terminals/{tid}")
    assert page.inner_text("#reading-battery_pct") == "14"
    assert page.inner_text("#reading-printer") == "paper_out"
    assert page.inner_text("#app-version") == "1.0.0"
    assert page.inner_text("#pending-reversals") == "1"
    assert page.locator("#terminal-alerts li[data-cause=missing_heartbeat]").count() == 1
    cells = page.locator("#readings tbody tr").first.locator("td").all_inner_texts()
    assert cells[1:3] == ["1", "14"] and cells[-2:] == ["12", "2"]
    shoot(page, "terminal-health", tmp_path)
    page.click("#lang-switch")
    assert page.inner_text("#health h2") == "Terminal health"
    page.click("#lang-switch")
