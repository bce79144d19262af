"""Telemetry on both backends: a heartbeat's readings and sessions reach GET /terminals/{tid}
(last readings, 7-day history); a quiet terminal raises the missing-heartbeat alert and a new
heartbeat clears it; an uploaded log is diagnosed; bad input (a reading out of range, an unknown
terminal, another terminal's token, a corrupt or oversized log) gets a 4xx naming the problem
and stores nothing. And the terminal's own agent on a real journal: sessions counted from its
event log, a release taken (verified before switched), a faulty release crashing a session."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tmskit import DeviceApi, Tms, active

from steadypos.terminal import fleet, releases
from steadypos.terminal.events import EventLog, events_path
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import Journal
from steadypos.terminal.releases import Fault, ReleaseDefect
from steadypos.tms.fleet_models import Heartbeat, LogUpload, SessionCount
from steadypos.tms.services import logs, telemetry


def beat(tid: str, at: datetime, **over: Any) -> dict[str, Any]:
    return {"tid": tid, "ts": at.isoformat(), "app_version": "1.0.0", "params_version": 0,
            "health": {"battery_pct": 64, "power": "battery", "cpu_temp_c": 51,
                       "mem_free_mb": 120, "mem_total_mb": 512, "storage_free_mb": 900,
                       "signal_dbm": -77, "printer": "ok"},
            "sessions": {"1.0.0": {"started": 4, "crashed": 1}}, "pending_reversals": 1,
            "open_batch": 7, **over}


def rows(tms: Tms) -> tuple[int, int, int]:
    with tms.ctx.sessions() as db:
        return tuple(int(db.scalar(select(func.count()).select_from(t)) or 0)  # type: ignore[return-value]
                     for t in (Heartbeat, SessionCount, LogUpload))


@pytest.fixture(scope="module")
def pair(tms: Tms) -> dict[str, Any]:
    mid = tms.merchant()
    (a, token_a), (b, token_b) = active(tms, mid, 2)
    return {"a": a, "b": b, "api": DeviceApi(tms.client, token_a), "token_b": token_b}


def test_readings_history_and_the_missing_alert(tms: Tms, pair: dict[str, Any]) -> None:
    api, tid = pair["api"], pair["a"]
    now = datetime.now(UTC)
    for hours in (50, 49, 2):
        answer = api.call("POST", "/heartbeats", beat(tid, now - timedelta(hours=hours)))
    assert answer == {"parameters": None, "release": None, "actions": ["upload_logs"]}
    got = tms.ok("GET", f"/terminals/{tid}")
    assert got["health"]["battery_pct"] == 64 and got["app_version"] == "1.0.0"
    assert (got["pending_reversals"], got["open_batch"]) == (1, 7)
    assert [(p["heartbeats"], p["sessions"], p["crashed"]) for p in got["history"]] == [
        (1, 4, 1)] * 3
    assert got["history"][0]["signal_dbm_min"] == -77
    assert tms.ok("GET", "/terminals")["items"][0]["history"] is None  # lists stay light
    with tms.ctx.sessions() as db:
        assert tid in telemetry.sweep_missing(db)  # 2 hours quiet, 30 minutes allowed
        assert telemetry.sweep_missing(db).count(tid) == 1  # still one alert
    alert = tms.ok("GET", f"/alerts?tid={tid}")["items"]
    assert [a["cause"] for a in alert] == ["missing_heartbeat"]
    assert alert[0]["evidence"][0] in ("no heartbeat for 119 minutes (allowed: 30)",
                                      "no heartbeat for 120 minutes (allowed: 30)")
    api.call("POST", "/heartbeats", beat(tid, datetime.now(UTC)))
    assert tms.ok("GET", f"/alerts?tid={tid}")["total"] == 0


def test_bad_heartbeats_get_a_4xx_naming_the_problem_and_store_nothing(
        tms: Tms, pair: dict[str, Any]) -> None:
    api, tid = pair["api"], pair["a"]
    before = rows(tms)
    now = datetime.now(UTC)
    cases = [
        (beat(tid, now, health={"battery_pct": 140}), 422, "health.battery_pct"),
        (beat(tid, now, health={"mem_free_mb": 900, "mem_total_mb": 512}), 422, "mem_free_mb"),
        (beat(tid, now, sessions={"1.0.0": {"started": 1, "crashed": 2}}), 422, "crashed 2"),
        (beat(tid, now + timedelta(hours=1)), 422, "ts: "),
        (beat(tid, now, printer="x"), 422, "printer"),
        (beat("99999999", now), 404, "no terminal 99999999"),
        (beat(pair["b"], now), 403, f"token of terminal {tid}, not of {pair['b']}"),
    ]
    for body, status, words in cases:
        r = tms.client.post("/api/v1/heartbeats", json=body,
                            headers={"Authorization": f"Bearer {api.token}"})
        assert r.status_code == status and words in r.json()["detail"], r.text
    staff = tms.call("POST", "/heartbeats", json=beat(tid, now))
    assert staff.status_code == 403
    assert rows(tms) == before


def test_log_uploads_are_diagnosed_and_bad_ones_refused(tms: Tms, pair: dict[str, Any]) -> None:
    api, tid = pair["api"], pair["a"]
    t0 = datetime(2026, 11, 30, 10, tzinfo=UTC)
    events = []
    for n in range(4):  # four sessions that end in a crash at the receipt printer
        at = (t0 + timedelta(minutes=10 * n)).isoformat(timespec="milliseconds")
        events += [{"ts": at.replace("+00:00", "Z"), "tid": tid, "type": "app",
                    "event": "start", "app_version": "1.0.0"},
                   {"ts": at.replace("+00:00", "Z"), "tid": tid, "type": "health",
                    "printer": "head_fault"},
                   {"ts": at.replace("+00:00", "Z"), "tid": tid, "type": "screen",
                    "screen": "receipt"},
                   {"ts": at.replace("+00:00", "Z"), "tid": tid, "type": "app", "event": "exit",
                    "app_version": "1.0.0", "reason": "crash"}]
    raw = logs.gzip_lines(events)
    got = json_of(api.request("POST", f"/terminals/{tid}/logs", raw, "application/gzip"))
    assert got["events"] == 16 and got["cause"] == "hardware_printer"
    again = json_of(api.request("POST", f"/terminals/{tid}/logs", raw, "application/gzip"))
    assert again["id"] == got["id"]  # the same bytes are kept once
    assert any(a["cause"] == "hardware_printer" for a in tms.ok("GET", "/alerts")["items"])
    before = rows(tms)
    bad = [(b"plain text", "application/gzip", 422, "not gzip"),
           (raw[:-9], "application/gzip", 422, "truncated"),
           (raw, "text/plain", 415, "application/gzip"),
           (logs.gzip_lines([{**events[0], "tid": pair["b"]}]), "application/gzip", 422,
            "a terminal uploads its own log only")]
    for body, kind, status, words in bad:
        r = tms.client.post(f"/api/v1/terminals/{tid}/logs", content=body,
                            headers={"Authorization": f"Bearer {api.token}",
                                     "Content-Type": kind})
        assert r.status_code == status and words in r.json()["detail"], r.text
    with pytest.raises(logs.TooLarge):
        logs.check(b"\x1f\x8b" + bytes(logs.MAX_UPLOAD), tid)
    other = tms.client.post(f"/api/v1/terminals/{pair['b']}/logs", content=raw,
                            headers={"Authorization": f"Bearer {api.token}",
                                     "Content-Type": "application/gzip"})
    assert other.status_code == 403
    assert rows(tms) == before


def test_an_oversized_upload_is_refused_while_it_streams(tms: Tms, pair: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The same 413 the 64 MiB limit gives, over HTTP, with the limit made small for the test."""
    monkeypatch.setattr(logs, "MAX_UPLOAD", 4096)
    before = rows(tms)
    r = tms.client.post(f"/api/v1/terminals/{pair['a']}/logs", content=bytes(8192),
                        headers={"Authorization": f"Bearer {pair['api'].token}",
                                 "Content-Type": "application/gzip"})
    assert r.status_code == 413 and "larger than 4096 bytes" in r.json()["detail"]
    assert rows(tms) == before


def json_of(raw: bytes) -> Any:
    import json

    return json.loads(raw)


def test_a_small_rollout_halts_on_this_backend_too(tms: Tms, tmp_path: Path) -> None:
    """The rollout's aggregate queries on each backend (the 200-terminal run is SQLite's)."""
    import base64
    import hashlib

    fleet_ = active(tms, tms.merchant(), 10, model="N910", brand="Newland", firmware="9")
    raw = releases.build("5.0.0", Fault.CRASH, crash_rate=0.9)
    tms.ok("POST", "/releases", 201, json={
        "version": "5.0.0", "sha256": hashlib.sha256(raw).hexdigest(),
        "compatible": [{"brand": "Newland", "model": "N910", "firmware": "*"}],
        "package": base64.b64encode(raw).decode()})
    rid = tms.ok("POST", "/rollouts", 201, json={
        "release": "5.0.0", "target": {"model": "N910"}, "stages": [20, 100],
        "min_sessions": 20, "observe_minutes": 0})["id"]
    offered = {r for r in range(10) if DeviceApi(tms.client, fleet_[r][1]).call(
        "POST", "/heartbeats", beat(fleet_[r][0], datetime.now(UTC)))["release"]}
    assert len(offered) == 2
    rng = random.Random(5)
    for r, (tid, token) in enumerate(fleet_):
        version = "5.0.0" if r in offered else "1.0.0"
        crashed = sum(rng.random() < (0.9 if r in offered else 0.0) for _ in range(20))
        DeviceApi(tms.client, token).call("POST", "/heartbeats", beat(
            tid, datetime.now(UTC), app_version=version,
            sessions={version: {"started": 20, "crashed": crashed}}))
    done = tms.ok("GET", f"/rollouts/{rid}")
    assert done["state"] == "halted" and done["offered"] == 2
    new, base = done["reason"]["new"], done["reason"]["baseline"]
    assert new["sessions"] >= 20 and new["crash_free_pct"] < 50  # halted as soon as it could
    assert base["sessions"] >= 10 * 4 and base["crash_free_pct"] >= 75


def test_the_terminal_agent_on_a_real_journal(tms: Tms, tmp_path: Path) -> None:
    """Sessions from the event log, a release verified before it is switched to, and a faulty
    release's hook crashing a payment step."""
    import base64
    import hashlib

    mid = tms.merchant()
    (tid, token), = active(tms, mid, 1, model="S920")
    journal = tmp_path / "t.journal"
    Terminal.init(journal, "127.0.0.1", 5000, tid, mid, bytes(16))
    j = Journal(journal)
    j.set_config({"params_version": "0"})
    j.close()
    fleet.tms_file(journal).write_text('{"tms": "http://x", "terminal_token": "t", '
                                       f'"release_public_key": {tms.ctx.release_key.public_pem!r}'
                                       .replace("'", '"') + "}")
    log = EventLog(events_path(journal), tid)
    for reason in ("normal", "crash", "normal"):
        log.app_start()
        log.app_exit(reason)
    log.close()
    agent = fleet.Agent(journal, DeviceApi(tms.client, token), say=lambda s: None)
    agent.heartbeat()
    assert agent.sent[0]["sessions"] == {"0.1.0": {"started": 3, "crashed": 1}}
    agent.heartbeat()
    assert agent.sent[1]["sessions"] == {}  # counted once
    raw = releases.build("6.0.0", Fault.CRASH, crash_rate=1.0, crash_step="request_sent")
    tms.ok("POST", "/releases", 201, json={
        "version": "6.0.0", "sha256": hashlib.sha256(raw).hexdigest(),
        "compatible": [{"brand": "PAX", "model": "S920", "firmware": "*"}],
        "package": base64.b64encode(raw).decode()})
    tms.ok("POST", "/rollouts", 201, json={"release": "6.0.0", "target": {"tids": [tid]},
                                           "stages": [100], "observe_minutes": 0})
    agent.heartbeat()
    assert [b.get("release", {}).get("state") for b in agent.sent[2:]] == [None, "verified"]
    assert releases.Installed(journal).running_version() == "6.0.0"
    agent.heartbeat()
    assert agent.sent[-1]["release"]["state"] == "switched"
    assert tms.ok("GET", f"/terminals/{tid}")["release_report"]["state"] == "switched"
    hook = releases.fault_hook(journal, random.Random(1))
    assert hook is not None
    hook("card_read")  # not its step
    with pytest.raises(ReleaseDefect, match="6.0.0 crashed after request_sent"):
        hook("request_sent")
