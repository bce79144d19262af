"""Maintenance, training and rules on both backends: the due list (180 days by default, the
rules' interval where set), done records with their checklist that reach the diagnosis as a
`maintenance` event; training from training mode and by hand, the gaps; and each rule enforced:
`training_required`, `maintenance_interval_days`, `missing_after_minutes`, `min_app_version`
(offered as mandatory, then locked), every change in the audit log with the values before and
after."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

from incidentkit import beat, printer_jam_log, stamp, upload, wrong_pin_log
from tmskit import DeviceApi, Tms, active

from steadypos.terminal import releases
from steadypos.tms.fleet_models import LogUpload
from steadypos.tms.models import utcnow
from steadypos.tms.services import logfacts, logs, oversight, telemetry


def due_tids(tms: Tms) -> dict[str, dict[str, Any]]:
    return {d["tid"]: d for d in tms.ok("GET", "/maintenance/due")["items"]}


def test_maintenance_due_done_and_seen_by_the_diagnosis(tms: Tms) -> None:
    mid = tms.merchant()
    (old, token), (new, _) = active(tms, mid, 2)
    with tms.ctx.sessions() as db:
        from steadypos.tms.models import FleetTerminal

        term = db.get(FleetTerminal, old)
        assert term is not None
        term.activated_at = utcnow() - timedelta(days=200)
        db.commit()
    due = due_tids(tms)
    assert due[old]["overdue_days"] == 20 and due[old]["interval_days"] == 180
    assert new not in due
    bad = tms.call("POST", "/maintenance", json={"tid": old, "kind": "cleaning",
                                                 "checklist": {"polish": True}})
    assert bad.status_code == 422
    done = tms.ok("POST", "/maintenance", 201, json={
        "tid": old, "kind": "cleaning", "note": "reader and head",
        "checklist": {"cleaning": True, "cables": True, "worn_parts": False,
                      "print_head": True, "reader": True}})
    assert done["done_at"] is not None and done["checklist"]["reader"] is True
    assert old not in due_tids(tms)
    got = DeviceApi(tms.client, token).request("POST", f"/terminals/{old}/logs",
                                               printer_jam_log(old, 4), "application/gzip")
    assert b'"events":17' in got  # 16 lines of the log + the TMS's maintenance event


def test_training_from_training_mode_by_hand_and_the_gaps(tms: Tms) -> None:
    mid = tms.merchant()
    (tid, token), = active(tms, mid)
    start = utcnow() - timedelta(hours=2)
    training = logs.gzip_lines([{"ts": stamp(start), "tid": tid, "type": "training",
                                 "operator": "op8", "course": "refunds"}])
    api = DeviceApi(tms.client, token)
    upload(api, tid, training)
    # op7 and op8 key wrong PINs, op9 sells without a slip: the gaps are the untrained among
    # the operators behind the errors, not everyone who logged in on that terminal.
    upload(api, tid, wrong_pin_log(tid, [("op9", 12, 0), ("op7", 0, 4), ("op8", 0, 2)],
                                   start + timedelta(minutes=5)))
    with tms.ctx.sessions() as db:
        causes = [u.cause for u in db.query(LogUpload).filter(LogUpload.tid == tid)
                  .order_by(LogUpload.id)]
    assert causes[-1] in logfacts.OPERATOR_CAUSES
    gaps = [g for g in tms.ok("GET", "/training/gaps")["items"] if g["mid"] == mid]
    assert [(g["operator"], g["errors"]) for g in gaps] == [("op7", 1)]  # op8 was trained
    tms.ok("POST", "/training-records", 201, json={"operator": "op7", "tid": tid,
                                                   "course": "PIN entry", "score": 90})
    assert not [g for g in tms.ok("GET", "/training/gaps")["items"] if g["mid"] == mid]


def test_training_required_keeps_an_untrained_operator_in_training_mode(tms: Tms) -> None:
    mid = tms.merchant()
    (tid, token), = active(tms, mid)
    api = DeviceApi(tms.client, token)
    assert api.call("GET", f"/terminals/{tid}/operators/op1")["modes"] == ["training", "live"]
    tms.ok("PUT", "/policies", json={"target": {"mid": mid}, "training_required": True})
    assert api.call("GET", f"/terminals/{tid}/operators/op1")["modes"] == ["training"]
    tms.ok("POST", "/training-records", 201, json={"operator": "op1", "mid": mid,
                                                   "course": "basics"})
    check = api.call("GET", f"/terminals/{tid}/operators/op1")
    assert check["modes"] == ["training", "live"] and check["trained"] is True
    audit = tms.ok("GET", "/audit", as_user="admin", params={"limit": 1000})["items"]
    put = [e for e in audit if e["action"] == "policy.put" and e["after"]["training_required"]]
    assert put and put[-1]["before"] is None


def test_the_maintenance_and_heartbeat_intervals_are_enforced(tms: Tms) -> None:
    mid = tms.merchant()
    (tid, _), = active(tms, mid, activated_at=utcnow() - timedelta(days=40),
                       last_heartbeat=utcnow())
    assert tid not in due_tids(tms)
    tms.ok("PUT", "/policies", json={"target": {"mid": mid}, "maintenance_interval_days": 30,
                                     "missing_after_minutes": 5})
    assert due_tids(tms)[tid]["interval_days"] == 30
    with tms.ctx.sessions() as db:
        assert tid not in telemetry.sweep_missing(db, utcnow() + timedelta(minutes=4))
        assert tid in telemetry.sweep_missing(db, utcnow() + timedelta(minutes=6))


def test_a_minimum_version_is_offered_as_mandatory_then_locked(tms: Tms) -> None:
    mid = tms.merchant()
    (tid, token), = active(tms, mid, register=True)
    raw = releases.build("3.0.0", None)
    tms.ok("POST", "/releases", 201, json={
        "version": "3.0.0", "sha256": hashlib.sha256(raw).hexdigest(),
        "compatible": [{"brand": "PAX", "model": "A920", "firmware": "*"}],
        "package": base64.b64encode(raw).decode()})
    api = DeviceApi(tms.client, token)
    assert beat(api, tid, utcnow() - timedelta(minutes=2))["release"] is None
    tms.ok("PUT", "/policies", json={"target": {"mid": mid}, "min_app_version": "3.0.0",
                                     "grace_days": 1})
    told = beat(api, tid, utcnow() - timedelta(minutes=1))
    assert told["release"]["version"] == "3.0.0" and "mandatory_update" in told["actions"]
    with tms.ctx.sessions() as db:
        assert oversight.lock_outdated(db, tms.ctx, utcnow()) == []  # within the grace
        assert oversight.lock_outdated(db, tms.ctx, utcnow() + timedelta(days=1)) == [tid]
    assert tms.ok("GET", f"/terminals/{tid}")["status"] == "locked"


def test_every_change_of_a_rule_is_in_the_audit_log(tms: Tms) -> None:
    mid = tms.merchant()

    def entries(policy_id: str) -> list[dict[str, Any]]:
        audit = tms.ok("GET", "/audit", as_user="admin", params={"limit": 1000})["items"]
        return sorted((e for e in audit if e["action"] == "policy.put"
                       and e["entity_id"] == policy_id), key=lambda e: int(e["id"]))

    made = tms.ok("PUT", "/policies", json={"target": {"mid": mid},
                                            "maintenance_interval_days": 30})
    tms.ok("PUT", "/policies", json={"target": {"mid": mid}, "maintenance_interval_days": 60,
                                     "training_required": True})
    tms.ok("PUT", "/policies", json={"target": {"mid": mid}, "min_app_version": "3.1.0",
                                     "missing_after_minutes": 15})
    first, second, third = entries(str(made["id"]))
    assert (first["before"], first["after"]["maintenance_interval_days"]) == (None, 30)
    assert (second["before"]["maintenance_interval_days"], second["before"]["training_required"],
            second["after"]["maintenance_interval_days"], second["after"]["training_required"]
            ) == (30, False, 60, True)
    assert third["before"] == second["after"]
    assert (third["after"]["min_app_version"], third["after"]["missing_after_minutes"],
            third["after"]["maintenance_interval_days"]) == ("3.1.0", 15, 60)
    assert {e["actor"] for e in (first, second, third)} == {"user:ops"}
    assert {e["mid"] for e in (first, second, third)} == {mid}
