"""The demo's TMS part 2 scenes: a parameter drift found and repaired on the real terminal (its
own processes: `terminal heartbeat`, a technician's `terminal params --set`), and a bad release
rolled out to a fleet of simulated devices that halts itself at its first stage."""

from __future__ import annotations

import base64
import hashlib
import math
import random
from typing import Any

from rich.console import Console

from steadypos.fleetsim.devices import SimDevice, run_rollout
from steadypos.terminal import fleet as terminal_fleet
from steadypos.terminal import releases
from steadypos.terminal.activate import activate
from steadypos.terminal.releases import Fault, Installed
from steadypos.terminal.tmsclient import TmsCallError, TmsClient
from steadypos.tms.demo import APPLICATION, DemoDay
from steadypos.tms.identifiers import uscc_check_char

N = 4  # the real terminal onboarded by tms.demo
FLEET = 30
BAD = "2.0.0-bad"
HAND_TPDU = "6000040000"  # a destination the host does not answer to


def _drifted_fields(api: TmsClient, tid: str) -> list[str]:
    found = [d for d in api.call("GET", "/drift?limit=1000")["items"] if d["tid"] == tid]
    return [f["field"] for d in found for f in d["fields"]]


def drift(day: DemoDay, url: str, password: str, console: Console) -> None:
    """Assign a template, let the terminal apply it, edit its TPDU by hand, find the drift and
    repair it with a push; the terminal signs in again."""
    api = TmsClient(url).login("admin", password)
    code, local = day.terminal(N, "params")
    tid = local.get("tid", "")
    values = {"host": local.get("host"), "port": local.get("port"), "tpdu": local.get("tpdu"),
              "timeout_s": 30, "txn_limit_fen": 500_000, "receipt_header": "西湖茶馆 欢迎光临"}
    try:
        api.call("POST", "/parameter-templates", {"name": "demo-wrong-tpdu",
                                                  "values": {**values, "tpdu": HAND_TPDU}})
        day.expect("a template with a TPDU the host does not answer to is refused", False)
    except TmsCallError as exc:
        day.expect(f"a wrong TPDU is refused with the field named: {exc}",
                   exc.status == 422 and "values.tpdu" in str(exc))
    try:
        made = api.call("POST", "/parameter-templates", {"name": "西湖茶馆", "values": values})
        api.call("POST", f"/parameter-templates/{made['id']}/assign", {"target": {"tids": [tid]}})
    except TmsCallError as exc:
        day.expect(f"parameter template: {exc}", False)
        return
    code, _ = day.terminal(N, "heartbeat")
    _, now = day.terminal(N, "params")
    day.expect(f"{tid} fetched and applied parameters version {made['version']} between "
               f"payments", code == 0 and now.get("params_version") == made["version"])
    day.terminal(N, "params", "--set", f"tpdu={HAND_TPDU}")  # a technician's hand edit
    day.terminal(N, "heartbeat")
    fields = _drifted_fields(api, tid)
    day.expect(f"GET /drift finds {tid} with the field that differs: {fields}", fields == ["tpdu"])
    api.call("POST", f"/terminals/{tid}/parameters/push")
    code, _ = day.terminal(N, "heartbeat")
    _, now = day.terminal(N, "params")
    day.expect("a push repaired it: the assigned TPDU is back, /drift is empty",
               now.get("tpdu") == values["tpdu"] and not _drifted_fields(api, tid))
    code, out = day.terminal(N, "sign-in")
    day.expect(f"{tid} signs in again", code == 0 and out.get("rc") == "00")


def _licence(n: int) -> str:
    body = f"91330100MA2C{n:05d}"
    return body + uscc_check_char(body)


def fleet(day: DemoDay, api: TmsClient, url: str, size: int = FLEET,
          name: str = "杭州连锁便利店有限公司", licence: int = 1,
          prefix: str = "FLEET") -> list[SimDevice]:
    """A new merchant's `size` devices, each onboarded as a real one is: assigned, shipped,
    activated with its one-time code (a fresh RSA key each)."""
    app = TmsClient(url).call("POST", "/applications", {
        **APPLICATION, "legal_name": name, "licence_no": _licence(licence),
        "terminals_requested": size})
    mid = api.call("POST", f"/applications/{app['id']}/approve")["mid"]
    devices = []
    for n in range(size):
        serial = f"PAX-A920-{prefix}-{n:04d}"
        tid = api.call("POST", "/terminals", {"mid": mid, "serial": serial, "brand": "PAX",
                                              "model": "A920",
                                              "firmware": "PayDroid 8.1"})["tid"]
        code = api.call("POST", f"/terminals/{tid}/ship", {
            "carrier": "顺丰速运", "tracking_no": f"SF9{n:09d}"})["activation_code"]
        journal = day.root / "fleet" / f"{tid}.db"
        journal.parent.mkdir(exist_ok=True)
        activate(journal, url, serial, code)
        cfg = terminal_fleet.tms_settings(journal) or {}
        devices.append(SimDevice(tid, TmsClient(url, cfg["terminal_token"]), Installed(journal),
                                 cfg.get("release_public_key", ""), random.Random(n)))
    return devices


def bad_release(day: DemoDay, url: str, password: str, console: Console) -> None:
    """A release built with a crash fault, rolled out in stages to the fleet: it halts itself
    at the first stage; rolled back, every device runs the built-in app again."""
    api = TmsClient(url).login("admin", password)
    try:
        devices = fleet(day, api, url)
        raw = releases.build(BAD, Fault.CRASH, crash_rate=0.3)
        api.call("POST", "/releases", {
            "version": BAD, "sha256": hashlib.sha256(raw).hexdigest(),
            "compatible": [{"brand": "PAX", "model": "A920", "firmware": "PayDroid 8.1"}],
            "notes": "built with a crash fault (30% of sessions)",
            "package": base64.b64encode(raw).decode()})
        mid = api.call("GET", f"/terminals/{devices[0].tid}")["mid"]
        rollout = api.call("POST", "/rollouts", {
            "release": BAD, "target": {"mid": mid}, "stages": [10, 50, 100],
            "min_sessions": 60, "max_crash_free_drop": 1.0, "observe_minutes": 0})["id"]
    except TmsCallError as exc:
        day.expect(f"rollout set-up: {exc}", False)
        return
    day.expect(f"{FLEET} devices activated; release {BAD} signed, rollout {rollout} running",
               True)
    state = run_rollout(api, devices, rollout, {"halted", "finished"}, 8)
    first = math.ceil(FLEET * 0.10)
    reason: dict[str, Any] = state.get("reason") or {}
    console.print(f"   reason: {reason.get('text', '—')}", highlight=False, soft_wrap=True)
    day.expect("the rollout halted itself at its first stage",
               state["state"] == "halted" and state["stage"] == 0
               and reason.get("automatic") is True)
    offered = [d for d in devices if BAD in d.offers]
    day.expect(f"only the first stage's {first} of {FLEET} devices were offered it",
               state["offered"] == len(offered) == first)
    run_rollout(api, devices, rollout, set(), 1)  # halted: one more round offers nobody
    day.expect("halted: no further device is offered it",
               sum(BAD in d.offers for d in devices) == first)
    alerts = api.call("GET", "/alerts")["items"]
    day.expect("the TMS raised a rollout_halted alert",
               any(a["cause"] == "rollout_halted" and a["subject"] == BAD for a in alerts))
    api.call("POST", f"/rollouts/{rollout}/rollback")
    run_rollout(api, devices, rollout, set(), 1)
    day.expect("rolled back: every device runs the built-in app again",
               all(d.installed.running_version() != BAD for d in devices))
    console.print(f"   see {url}/ui/rollouts/{rollout} for the crash-free plot",
                  highlight=False)
