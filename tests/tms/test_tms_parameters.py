"""Parameters: templates checked against the host's registry and the terminal model (a wrong MID
or TPDU is refused with the field named), assignment, processing requirement 6 in the host's
answers while a terminal is behind, the terminal fetching and applying them between payments
only, and a hand-edited terminal found in /drift and repaired by a push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tmskit import DeviceApi, Tms, active

from steadypos.host.service import HostService
from steadypos.host.store import open_store
from steadypos.protocol import builders
from steadypos.protocol.builders import Station
from steadypos.protocol.frame import PROC_NEW_PARAMS, PROC_NONE, Tpdu
from steadypos.terminal import fleet
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import PARAMS_WAITING, Journal

VALUES = {"host": "127.0.0.1", "port": 5000, "tpdu": "6000030000", "timeout_s": 40,
          "txn_limit_fen": 2_000_000, "receipt_header": "西湖茶馆 欢迎光临"}


def proc_of_answer(tms: Tms, tid: str, mid: str) -> int:
    """The processing requirement of the host's answer to this terminal's sign-in."""
    store = open_store(tms.ctx.settings.db.host_url)
    try:
        store.begin()
        resp = HostService(store, tms.ctx.host.secrets).handle(
            builders.sign_in(Station(tid, mid, Tpdu()), 1, 1))
        store.rollback()
    finally:
        store.close()
    assert resp is not None and resp.get(39) == "00"
    return resp.header.proc


@pytest.fixture(scope="module")
def world(tms: Tms) -> dict[str, Any]:
    mid = tms.merchant()
    (tid, token), (tid2, _) = active(tms, mid, 2, register=True)
    return {"mid": mid, "tid": tid, "token": token, "tid2": tid2, "other_mid": tms.merchant()}


def test_values_that_would_break_a_sign_in_are_refused_with_the_field(
        tms: Tms, world: dict[str, Any]) -> None:
    for change, field in (({"tpdu": "6000040000"}, "tpdu"), ({"host": "10.9.9.9"}, "host"),
                          ({"port": 5999}, "port"), ({"txn_limit_fen": 10**11}, "txn_limit_fen"),
                          ({"mid": "898699999999999"}, "mid"), ({"colour": "red"}, "colour")):
        r = tms.call("POST", "/parameter-templates", json={"name": f"bad-{field}",
                                                            "values": {**VALUES, **change}})
        assert r.status_code == 422 and r.json()["detail"].startswith(f"values.{field}"), r.text
    # The other merchant's MID is a real merchant, but not this terminal's: refused at assign.
    made = tms.ok("POST", "/parameter-templates", 201, json={
        "name": "other-mid", "values": {**VALUES, "mid": world["other_mid"]}})
    r = tms.call("POST", f"/parameter-templates/{made['id']}/assign",
                 json={"target": {"tids": [world["tid"]]}})
    assert r.status_code == 422 and r.json()["detail"].startswith("values.mid: ")
    assert world["other_mid"] in r.json()["detail"]
    wide = tms.call("POST", "/parameter-templates", json={
        "name": "wide", "values": {**VALUES, "receipt_header": "杭" * 17}})
    assert wide.status_code == 201  # fits no A920 line: refused when it meets one
    r = tms.call("POST", f"/parameter-templates/{wide.json()['id']}/assign",
                 json={"target": {"mid": world["mid"]}})
    assert r.status_code == 422 and "values.receipt_header: 34 columns" in r.json()["detail"]
    assert tms.ok("GET", f"/terminals/{world['tid']}")["params_version"] is None
    assert proc_of_answer(tms, world["tid"], world["mid"]) == PROC_NONE  # nothing was assigned


def _terminal(tmp: Path, tms: Tms, world: dict[str, Any]) -> tuple[Path, fleet.Agent]:
    journal = tmp / "t.journal"
    Terminal.init(journal, "127.0.0.1", 5000, world["tid"], world["mid"], bytes(16))
    j = Journal(journal)
    j.set_config({"params_version": "0"})
    j.close()
    return journal, fleet.Agent(journal, DeviceApi(tms.client, world["token"]), say=print)


def test_assign_deliver_apply_between_payments_then_drift_and_push(
        tms: Tms, world: dict[str, Any], tmp_path: Path) -> None:
    tid, mid = world["tid"], world["mid"]
    made = tms.ok("POST", "/parameter-templates", 201, json={"name": "teahouse",
                                                             "values": VALUES})
    got = tms.ok("POST", f"/parameter-templates/{made['id']}/assign",
                 json={"target": {"tids": [tid]}})
    assert got["terminals"] == [tid] and got["version"] == made["version"]
    assert proc_of_answer(tms, tid, mid) == PROC_NEW_PARAMS
    assert proc_of_answer(tms, world["tid2"], mid) == PROC_NONE
    journal, agent = _terminal(tmp_path, tms, world)

    # The host said 6 during a payment: nothing is fetched while the payment is open.
    j = Journal(journal)
    j.set_counter(PARAMS_WAITING, 1)
    open_sale = j.start("sale", 1880, 1)
    fleet.after_command(journal, print)  # no TMS file yet either: nothing happens
    assert j.config()["params_version"] == "0"
    assert not fleet.between_payments(j)
    j.step(open_sale, "flow_aborted", "test", state="failed")
    j.close()

    answer = agent.heartbeat()
    assert answer["parameters"] == {"version": made["version"]}
    cfg = Journal(journal).config()
    assert (cfg["params_version"], cfg["timeout"], cfg["receipt_header"],
            cfg["txn_limit_fen"]) == (str(made["version"]), "40", VALUES["receipt_header"],
                                      "2000000")
    assert tms.ok("GET", f"/terminals/{tid}")["params_version"] == made["version"]
    assert proc_of_answer(tms, tid, mid) == PROC_NONE  # it reported them: no more 6
    assert tms.ok("GET", "/drift")["total"] == 0

    # A technician changes the TPDU by hand: /drift names the field; a push repairs it.
    j = Journal(journal)
    fleet.edit_params(j, {"tpdu": "6000040000", "timeout_s": "60"})
    j.close()
    agent.heartbeat()
    found = tms.ok("GET", "/drift")["items"]
    assert [d["tid"] for d in found] == [tid]
    assert {(f["field"], f["expected"], f["reported"]) for f in found[0]["fields"]} == {
        ("tpdu", "6000030000", "6000040000"), ("timeout_s", 40, 60)}
    tms.ok("POST", f"/terminals/{tid}/parameters/push")
    assert proc_of_answer(tms, tid, mid) == PROC_NEW_PARAMS
    agent.heartbeat()
    cfg = Journal(journal).config()
    assert (cfg["tpdu"], cfg["timeout"]) == ("6000030000", "40")
    assert tms.ok("GET", "/drift")["total"] == 0
    assert proc_of_answer(tms, tid, mid) == PROC_NONE

    # A new version goes to every terminal of the template, checked first.
    r = tms.call("PUT", f"/parameter-templates/{made['id']}",
                 json={"values": {**VALUES, "tpdu": "6000050000"}})
    assert r.status_code == 422 and r.json()["detail"].startswith("values.tpdu")
    newer = tms.ok("PUT", f"/parameter-templates/{made['id']}",
                   json={"values": {**VALUES, "timeout_s": 25}})
    assert newer["version"] > made["version"]
    assert proc_of_answer(tms, tid, mid) == PROC_NEW_PARAMS
    drift = tms.ok("GET", "/drift")["items"][0]["fields"]
    assert drift[0] == {"field": "params_version", "expected": newer["version"],
                        "reported": made["version"], "source": "template"}


def test_a_terminal_reads_its_own_parameters_only(tms: Tms, world: dict[str, Any]) -> None:
    device = {"Authorization": f"Bearer {world['token']}"}
    own = tms.client.get(f"/api/v1/terminals/{world['tid']}/parameters", headers=device)
    assert own.status_code == 200 and own.json()["values"]["mid"] == world["mid"]
    other = tms.client.get(f"/api/v1/terminals/{world['tid2']}/parameters", headers=device)
    assert other.status_code == 403 and world["tid"] in other.json()["detail"]
