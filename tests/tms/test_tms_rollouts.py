"""Staged rollouts on a simulated fleet of 200 terminals that heartbeat through the API and take
releases with the terminal's own code (sha256 + Ed25519 verified, installed dormant, self-checked,
then switched): a release built with a crash fault halts itself at the first stage, with both
crash-free rates and session counts in the reason and no terminal outside that stage offered it;
a good release reaches 100%. A release whose sha256 does not match its bytes stores nothing."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tmskit import DeviceApi, Tms, active

from steadypos import __version__
from steadypos.fleetsim.devices import SimDevice, run_rollout
from steadypos.terminal import releases
from steadypos.terminal.releases import Fault, Installed

FLEET = 200
COMPATIBLE = [{"brand": "PAX", "model": "A920", "firmware": "PayDroid 8.1"}]


def publish(tms: Tms, version: str, fault: Fault | None, rate: float = 0.5) -> dict[str, Any]:
    raw = releases.build(version, fault, crash_rate=rate)
    return dict(tms.ok("POST", "/releases", 201, json={
        "version": version, "sha256": hashlib.sha256(raw).hexdigest(),
        "compatible": COMPATIBLE, "notes": f"built with {fault or 'no fault'}",
        "package": base64.b64encode(raw).decode()}))


@pytest.fixture(scope="module")
def tms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tms]:
    """SQLite only: the fleet's thousands of heartbeats are the suite's budget twice over on
    both backends; the rollout queries run on PostgreSQL in test_tms_telemetry.py."""
    root = tmp_path_factory.mktemp("tms")
    tms = Tms.start(str(root / "host.db"), root / "ca", "sqlite")
    yield tms
    tms.ctx.engine.dispose()


@pytest.fixture(scope="module")
def fleet(tms: Tms, tmp_path_factory: pytest.TempPathFactory) -> list[SimDevice]:
    root = tmp_path_factory.mktemp("fleet")
    mid = tms.merchant()
    key = tms.ctx.release_key.public_pem
    return [SimDevice(tid, DeviceApi(tms.client, token), Installed(root / f"{tid}.journal"), key,
                random.Random(n)) for n, (tid, token) in enumerate(active(tms, mid, FLEET))]


def run(tms: Tms, fleet: list[SimDevice], rollout: int, until: set[str],
        rounds: int) -> dict[str, Any]:
    ops = DeviceApi(tms.client, tms.headers["ops"]["Authorization"].removeprefix("Bearer "))
    state = run_rollout(ops, fleet, rollout, until, rounds)
    assert state["state"] in until, f"rollout {rollout} still {state['state']}"
    return state


def test_a_bad_release_halts_at_the_first_stage(tms: Tms, fleet: list[SimDevice]) -> None:
    publish(tms, "2.0.0-bad", Fault.CRASH)
    started = tms.ok("POST", "/rollouts", 201, json={
        "release": "2.0.0-bad", "target": {"model": "A920"}, "stages": [10, 50, 100],
        "min_sessions": 100, "max_crash_free_drop": 1.0, "observe_minutes": 0})
    assert started["state"] == "running"
    done = run(tms, fleet, started["id"], {"halted"}, 4)
    assert done["stage"] == 0 and done["offered"] == FLEET // 10
    reason = done["reason"]
    new, base = reason["new"], reason["baseline"]
    assert new["versions"] == ["2.0.0-bad"] and base["versions"] == [__version__]
    assert new["sessions"] >= 100 and base["sessions"] >= 1000
    assert new["crash_free_pct"] < 75 < 97 < base["crash_free_pct"]
    assert reason["drop_points"] > 1.0 and reason["automatic"] is True
    for figure in (str(new["crash_free_pct"]), str(new["sessions"]),
                   str(base["crash_free_pct"]), str(base["sessions"])):
        assert figure in reason["text"]
    offered = [s for s in fleet if "2.0.0-bad" in s.offers]
    assert len(offered) == FLEET // 10  # nobody outside the first stage was offered it
    assert all(s.installed.running_version() == __version__ for s in fleet if s not in offered)
    sample = offered + [s for s in fleet if s not in offered][:20]
    before = {s.tid: len(s.offers) for s in sample}
    for sim in sample:  # halted: no terminal, offered or not, is offered it again
        sim.beat()
    assert {s.tid: len(s.offers) for s in sample} == before
    alerts = tms.ok("GET", "/alerts")["items"]
    assert any(a["cause"] == "rollout_halted" and a["subject"] == "2.0.0-bad" for a in alerts)
    health = tms.ok("GET", "/releases/2.0.0-bad/health")
    assert health["terminals"] == FLEET // 10 and health["crash_free_pct"] < 75
    # Rolled back: the terminals that switched go back to the release they ran before.
    assert tms.ok("POST", f"/rollouts/{started['id']}/rollback")["state"] == "rolled_back"
    for sim in offered:
        sim.beat()
    assert all(s.installed.running_version() == __version__ for s in fleet)


def test_a_good_release_reaches_every_terminal(tms: Tms, fleet: list[SimDevice]) -> None:
    publish(tms, "2.1.0", None)
    started = tms.ok("POST", "/rollouts", 201, json={
        "release": "2.1.0", "target": {"all": True}, "stages": [10, 50, 100],
        "min_sessions": 100, "observe_minutes": 0})
    done = run(tms, fleet, started["id"], {"finished", "halted"}, 10)
    assert done["state"] == "finished" and done["stage"] == 2, done["reason"]
    assert done["offered"] == done["switched"] == FLEET
    assert all(s.installed.running_version() == "2.1.0" for s in fleet)
    assert tms.ok("GET", "/releases/2.1.0/health")["adoption_pct"] == 100.0


def test_releases_that_do_not_verify_are_refused(tms: Tms, fleet: list[SimDevice],
                                                 tmp_path: Path) -> None:
    raw = releases.build("3.0.0")
    body = {"version": "3.0.0", "sha256": hashlib.sha256(raw + b"x").hexdigest(),
            "compatible": COMPATIBLE, "package": base64.b64encode(raw).decode()}
    r = tms.call("POST", "/releases", json=body)
    assert r.status_code == 422 and r.json()["detail"].startswith("sha256: does not match")
    assert tms.call("GET", "/releases/3.0.0").status_code == 404
    # A boot fault fails the self-check: installed dormant, never switched to.
    publish(tms, "3.1.0-boot", Fault.BOOT)
    sim = fleet[0]
    working = sim.installed.running_version()  # whatever the tests before left it running
    rel = tms.ok("GET", "/releases/3.1.0-boot")
    sim.take({"version": "3.1.0-boot", "sha256": rel["sha256"], "signature": rel["signature"]})
    assert sim.report is not None and sim.report["state"] == "refused"
    assert "self-check failed" in sim.report["reason"]
    assert sim.installed.running_version() == working != "3.1.0-boot"
    # Bytes changed in transit, or signed by another key: refused before installing.
    good = releases.build("3.2.0")
    sig = tms.ctx.release_key.sign("3.2.0", hashlib.sha256(good).hexdigest())
    journal = tmp_path / "t.journal"
    with pytest.raises(releases.ReleaseError, match="sha256"):
        releases.prepare(journal, good + b" ", "3.2.0", hashlib.sha256(good).hexdigest(), sig,
                         sim.key)
    other = releases.build("3.2.0", Fault.CRASH)
    with pytest.raises(releases.ReleaseError, match="signature does not verify"):
        releases.prepare(journal, other, "3.2.0", hashlib.sha256(other).hexdigest(), sig,
                         sim.key)
    assert not Installed(journal).folder.exists()
