"""Fleet-level incidents on both backends: a merchant's outage, a brand/model whose crash rate
stands out, a parameter version followed by mismatches: one incident each with its scope and
its terminals, their own incidents merged into it; the telemetry rules on readings; and every
remedy checked: the figure before and after, a remedy that did nothing reopens its incident."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from incidentkit import beat, printer_jam_log, shift, upload
from tmskit import DeviceApi, Tms, active

from steadypos.tms.models import FleetTerminal, utcnow
from steadypos.tms.services import alerts, fleetwatch, incidents, telemetry


def listed(tms: Tms, **query: Any) -> list[dict[str, Any]]:
    return list(tms.ok("GET", "/incidents", params={"limit": 1000, **query})["items"])


def test_a_merchant_outage_is_one_incident(tms: Tms) -> None:
    mid = tms.merchant()
    tids = [t for t, _ in active(tms, mid, 4)]
    with tms.ctx.sessions() as db:
        for term in db.query(FleetTerminal).filter(FleetTerminal.tid.in_(tids[:3])):
            term.last_heartbeat = utcnow() - timedelta(hours=2)
        db.commit()
        assert sorted(telemetry.sweep_missing(db)) >= sorted(tids[:3])
        fleetwatch.evaluate(db)
        fleetwatch.evaluate(db)  # again: the same incident
        db.commit()
    mine = [i for i in listed(tms) if i["scope"] in ({"mid": mid}, *({"tid": t} for t in tids))]
    assert len(mine) == 1
    (outage,) = mine
    assert (outage["scope"], outage["cause"], outage["members"]) == (
        {"mid": mid}, "network", sorted(tids[:3]))
    with tms.ctx.sessions() as db:  # a member's next alert joins the merchant's incident
        alerts.raise_alert(db, f"diagnosis:{tids[0]}:network", "tid", tids[0], "network", "low",
                           ["net down"], mid=mid)
        db.commit()
    assert tms.ok("GET", f"/incidents/{outage['id']}")["alerts"] == outage["alerts"] + 1
    assert not [i for i in listed(tms) if i["scope"] == {"tid": tids[0]}]


def test_a_model_whose_crash_rate_stands_out_is_one_incident(tms: Tms) -> None:
    mid = tms.merchant()
    bad = active(tms, mid, 3, model="X9")
    good = active(tms, mid, 3)
    at = utcnow() - timedelta(minutes=30)
    for tid, token in bad:
        beat(DeviceApi(tms.client, token), tid, at, started=20, crashed=5)
    for tid, token in good:
        beat(DeviceApi(tms.client, token), tid, at, started=20, crashed=0)
    with tms.ctx.sessions() as db:
        found = fleetwatch.model_crash_rates(db, utcnow())
        db.commit()
    assert [(i.scope, i.subject) for i in found] == [("model", "PAX X9")]
    (inc,) = [i for i in listed(tms, scope="model")]
    assert inc["members"] == sorted(t for t, _ in bad) and inc["cause"] == "compatibility"
    assert "25.0%" in inc["evidence"][0]


def test_a_parameter_version_with_mismatches_is_one_incident(tms: Tms) -> None:
    mid = tms.merchant()
    tids = [t for t, _ in active(tms, mid, 3, params_version=77)]
    with tms.ctx.sessions() as db:
        for tid in tids:
            alerts.raise_alert(db, f"diagnosis:{tid}:parameter_mismatch", "tid", tid,
                               "parameter_mismatch", "low", ["39=03 on sign-in"], mid=mid)
        assert [i.subject for i in fleetwatch.parameter_versions(db)] == ["77"]
        db.commit()
    (inc,) = listed(tms, scope="params")
    assert inc["members"] == sorted(tids) and inc["actions"] == ["push_parameters"]
    assert not [i for i in listed(tms) if i["scope"] in [{"tid": t} for t in tids]]


def test_telemetry_rules_raise_on_readings(tms: Tms) -> None:
    (tid, token), = active(tms, tms.merchant())
    api = DeviceApi(tms.client, token)
    beat(api, tid, utcnow() - timedelta(minutes=2), cpu_temp_c=88, printer="jam")
    causes = sorted(i["cause"] for i in listed(tms) if i["scope"] == {"tid": tid})
    assert causes == ["overheat_reading", "printer_fault"]
    beat(api, tid, utcnow() - timedelta(minutes=1))  # back to normal: the alerts clear
    open_alerts = tms.ok("GET", "/alerts", params={"tid": tid})["items"]
    assert open_alerts == []


def _remedy(tms: Tms, after_crashes: int) -> dict[str, Any]:
    """A printer-jam terminal: crashes before, an incident, maintenance done, resolved; then
    `after_crashes` crashes per heartbeat in the window after. The incident once checked."""
    (tid, token), = active(tms, tms.merchant())
    api, now = DeviceApi(tms.client, token), utcnow()
    for m in (170, 150, 130):  # before: [now-180, now-120)
        beat(api, tid, now - timedelta(minutes=m), started=4, crashed=2)
    for m in (60, 40, 20):  # after: [now-65, now-5)
        beat(api, tid, now - timedelta(minutes=m), started=4, crashed=after_crashes)
    upload(api, tid, printer_jam_log(tid, 4))
    (inc,) = [i for i in listed(tms) if i["scope"] == {"tid": tid}
              and i["cause"] == "hardware_printer"]
    shift(tms, inc["id"], timedelta(minutes=120))
    tms.ok("POST", "/maintenance", 201, json={
        "tid": tid, "kind": "cleaning", "incident": inc["id"],
        "checklist": {"cleaning": True, "print_head": True, "cables": True}})
    done = tms.ok("POST", f"/incidents/{inc['id']}/resolve",
                  json={"note": "print head cleaned", "window_minutes": 60})
    assert done["check"]["before"] == 6 * 24.0 and done["check"]["after"] is None
    shift(tms, inc["id"], timedelta(minutes=65))
    with tms.ctx.sessions() as db:
        assert str(inc["id"]) in [str(i.id) for i in incidents.check(db)]
        db.commit()
    return dict(tms.ok("GET", f"/incidents/{inc['id']}"))


def test_a_remedy_that_works_shows_the_drop(tms: Tms) -> None:
    inc = _remedy(tms, after_crashes=0)
    assert inc["check"] | {"window_minutes": 60} == {
        "figure": "crashes_per_day", "window_minutes": 60, "before": 144.0, "after": 0.0,
        "verdict": "improved", "reopened": 0}
    assert inc["status"] == "resolved"


def test_a_remedy_that_does_nothing_reopens(tms: Tms) -> None:
    inc = _remedy(tms, after_crashes=2)
    assert (inc["check"]["before"], inc["check"]["after"], inc["check"]["verdict"]) == (
        144.0, 144.0, "not_improved")
    assert (inc["status"], inc["check"]["reopened"], inc["resolved_at"]) == (
        "triggered", 1, None)
