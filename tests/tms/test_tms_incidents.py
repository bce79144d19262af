"""Incidents on both backends: alerts of one dedup key group into one incident, its life cycle
(triggered → acknowledged → resolved, 409 out of order), a new alert after resolution opens a
new incident, MTTA/MTTR, the runbook in Chinese and English with steps ticked off, the
one-click actions, and a merchant seeing only its own incidents."""

from __future__ import annotations

from typing import Any

import pytest
from incidentkit import printer_jam_log, upload
from tmskit import DeviceApi, Tms, active

from steadypos.tms.services import alerts


@pytest.fixture(scope="module")
def fleet(tms: Tms) -> dict[str, Any]:
    mid = tms.merchant()
    (a, token_a), (b, token_b) = active(tms, mid, 2)
    return {"mid": mid, "a": a, "b": b, "api_a": DeviceApi(tms.client, token_a),
            "api_b": DeviceApi(tms.client, token_b)}


def incidents_of(tms: Tms, tid: str, **query: str) -> list[dict[str, Any]]:
    items = tms.ok("GET", "/incidents", params={"limit": 1000, **query})["items"]
    return [i for i in items if i["scope"] == {"tid": tid}]


def test_alerts_group_by_dedup_key_and_follow_the_life_cycle(tms: Tms,
                                                             fleet: dict[str, Any]) -> None:
    tid = fleet["a"]
    upload(fleet["api_a"], tid, printer_jam_log(tid, 4))
    upload(fleet["api_a"], tid, printer_jam_log(tid, 3, cause="jam"))  # same key, new alert
    (inc,) = incidents_of(tms, tid)
    assert (inc["cause"], inc["status"], inc["severity"], inc["alerts"]) == (
        "hardware_printer", "triggered", "high", 2)
    assert inc["acked_at"] is None and inc["resolved_at"] is None and inc["evidence"]
    assert tms.ok("GET", f"/incidents/{inc['id']}") == inc
    assert [s["n"] for s in inc["runbook"]] == [1, 2, 3]
    assert inc["runbook"][0]["en"].startswith("Clean the print head")
    assert inc["runbook"][0]["zh"] == "清洁打印头，损坏则更换"
    assert inc["actions"] == ["schedule_maintenance"]
    assert tms.call("POST", f"/incidents/{inc['id']}/resolve", json={}).status_code == 200
    assert tms.ok("GET", f"/incidents/{inc['id']}")["status"] == "resolved"
    assert tms.call("POST", f"/incidents/{inc['id']}/ack").status_code == 409
    assert tms.call("POST", f"/incidents/{inc['id']}/resolve", json={}).status_code == 409
    upload(fleet["api_a"], tid, printer_jam_log(tid, 5))  # a new alert: a new incident
    new, old = incidents_of(tms, tid)
    assert old["id"] == inc["id"] and new["id"] != inc["id"] and new["status"] == "triggered"
    acked = tms.ok("POST", f"/incidents/{new['id']}/ack")
    assert acked["status"] == "acknowledged" and acked["acked_at"] is not None
    done = tms.ok("POST", f"/incidents/{new['id']}/resolve", json={"note": "head replaced"})
    assert (done["status"], done["note"]) == ("resolved", "head replaced")
    audit = tms.ok("GET", "/audit", as_user="admin", params={"limit": 1000})["items"]
    assert {"incident.ack", "incident.resolve"} <= {e["action"] for e in audit}


def test_stats_give_mtta_and_mttr(tms: Tms, fleet: dict[str, Any]) -> None:
    # Its own incidents: under xdist the other tests of this module may run in another worker.
    (tid, token), = active(tms, fleet["mid"])
    for sessions in (4, 5):  # a new alert after the resolution: a second incident
        upload(DeviceApi(tms.client, token), tid, printer_jam_log(tid, sessions))
        (inc,) = incidents_of(tms, tid, status="triggered")
        tms.ok("POST", f"/incidents/{inc['id']}/ack")
        tms.ok("POST", f"/incidents/{inc['id']}/resolve", json={})
    stats = tms.ok("GET", "/incidents/stats")
    assert stats["resolved"] >= 2 and stats["acknowledged"] >= 2
    assert stats["mtta_minutes"] is not None and stats["mttr_minutes"] is not None
    assert sum(stats["by_status"].values()) == stats["total"]


def test_runbook_steps_and_one_click_actions(tms: Tms, fleet: dict[str, Any]) -> None:
    tid = fleet["b"]
    upload(fleet["api_b"], tid, printer_jam_log(tid, 4))
    (inc,) = incidents_of(tms, tid, status="triggered")
    ticked = tms.ok("POST", f"/incidents/{inc['id']}/steps/2", json={})
    assert [s["done"] for s in ticked["runbook"]] == [False, True, False]
    assert tms.call("POST", f"/incidents/{inc['id']}/steps/9", json={}).status_code == 422
    got = tms.ok("POST", f"/incidents/{inc['id']}/actions",
                 json={"action": "schedule_maintenance", "kind": "cleaning"})
    assert len(got["done"]["scheduled"]) == 1
    refused = tms.call("POST", f"/incidents/{inc['id']}/actions",
                       json={"action": "hold_release"})
    assert refused.status_code == 409 and "schedule_maintenance" in refused.json()["detail"]
    after = tms.ok("GET", f"/incidents/{inc['id']}")
    assert after["evidence"][-1] == "user:ops: schedule_maintenance"


def test_a_merchant_sees_its_own_incidents_only(tms: Tms, fleet: dict[str, Any]) -> None:
    other = tms.merchant()
    tms.user(f"m{other}", "merchant", mid=other)
    mine = tms.ok("GET", "/incidents", as_user=f"m{other}")
    assert mine == {"items": [], "total": 0}
    upload(fleet["api_a"], fleet["a"], printer_jam_log(fleet["a"], 6))
    any_id = incidents_of(tms, fleet["a"])[0]["id"]
    assert tms.call("GET", f"/incidents/{any_id}", as_user=f"m{other}").status_code == 404
    assert tms.call("POST", f"/incidents/{any_id}/ack", as_user=f"m{other}").status_code == 404


def test_a_halted_rollout_and_a_missing_heartbeat_are_incidents(tms: Tms,
                                                                fleet: dict[str, Any]) -> None:
    with tms.ctx.sessions() as db:
        alerts.raise_alert(db, "rollout:999", "release", "9.9.9",
                           alerts.TelemetryCause.ROLLOUT_HALTED, "high", ["crash-free 80% vs 99%"])
        db.commit()
    (inc,) = [i for i in tms.ok("GET", "/incidents", params={"scope": "release"})["items"]
              if i["scope"] == {"release": "9.9.9"}]
    assert inc["cause"] == "rollout_halted" and inc["actions"] == ["hold_release"]
    held = tms.ok("POST", f"/incidents/{inc['id']}/actions", json={"action": "hold_release"})
    assert held["done"] == {"release": "9.9.9", "halted": []}
