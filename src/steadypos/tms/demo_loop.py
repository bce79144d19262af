"""The demo's last TMS scene, the loop closed: a simulated fleet's flash-exits (steadypos.fleetsim,
replayed on two terminals onboarded in the TMS) are uploaded and diagnosed into incidents; a
printer-jam terminal is worked through its runbook with maintenance, an untrained operator's with
training; the simulator then runs without the fault, and the TMS's remedy check measures the
incident's figure before and after over equal windows, printed in Chinese and English.

Two windows of three simulated days pass in seconds: the terminals report their days with
back-dated times (heartbeats accept up to 7 days back), and `_clock` moves what the TMS stamped
with its own clock (an incident's open, acknowledge and resolve times, an upload's arrival) to
the simulated moments they stand for, as the incident tests do."""

from __future__ import annotations

import gzip
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from steadypos import i18n
from steadypos.clock import format_ts, now_ts, parse_utc
from steadypos.fleetsim import remedy
from steadypos.fleetsim.catalog import START
from steadypos.fleetsim.devices import SimDevice
from steadypos.fleetsim.remedy import Remedy
from steadypos.terminal.fleet import sessions_since
from steadypos.terminal.tmsclient import TmsCallError, TmsClient
from steadypos.tms import db as tms_db
from steadypos.tms.demo import DemoDay
from steadypos.tms.demo_fleet import fleet
from steadypos.tms.fleet_models import LogUpload
from steadypos.tms.ops_models import Incident
from steadypos.tms.services import incidents

SEED, TERMINALS, DAYS = 3, 26, 6  # a fleet with one terminal of each cause (fleetsim.plan)
ON_DAY = DAYS // 2  # the remedy is done at the start of this day: equal windows before/after
WINDOW = timedelta(days=ON_DAY)
CASES = (("hardware_printer", Remedy.MAINTENANCE), ("training_gap", Remedy.TRAINING))


@dataclass
class Case:
    """One terminal of the loop: its cause, remedy, simulated days and incident."""

    label: str
    remedy: Remedy
    device: SimDevice
    days: list[list[dict[str, Any]]]
    incident: dict[str, Any] = field(default_factory=dict)
    uploads: list[str] = field(default_factory=list)  # their sha256, the window before first

    @property
    def tid(self) -> str:
        return self.device.tid


def _both(key: str, **values: object) -> list[str]:
    return [i18n.t(key, lang, **values) for lang in ("zh", "en")]


def _say(console: Console, key: str, **values: object) -> None:
    for line in _both(key, **values):
        console.print(f"   {line}", highlight=False, soft_wrap=True)


def _rebased(days: list[list[dict[str, Any]]], tid: str, start: datetime
             ) -> list[list[dict[str, Any]]]:
    """The simulated days as terminal `tid` lived them from `start` (midnight of day 0)."""
    shift = (start - START).total_seconds()
    return [[{**ev, "tid": tid, "ts": format_ts(parse_utc(str(ev["ts"])).timestamp() + shift)}
             for ev in d] for d in days]


def _beat(case: Case, ts: str, sessions: dict[str, dict[str, int]]) -> None:
    case.device.api.call("POST", "/heartbeats", {
        "tid": case.tid, "ts": ts, "app_version": next(iter(sessions), "4.2.1"),
        "params_version": 0, "sessions": sessions,
        "health": {"battery_pct": 90, "power": "ac", "printer": "ok"}})


def _report(case: Case, days: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Heartbeats of the days (one at each day's end, its sessions counted as the terminal's
    own heartbeat counts them), then the days' log uploaded; the upload's diagnosis."""
    with tempfile.TemporaryDirectory(prefix="demo-loop-") as tmp:
        for n, d in enumerate(days):
            path = Path(tmp) / f"day{n}.jsonl"
            path.write_text("".join(json.dumps(ev) + "\n" for ev in d), encoding="utf-8")
            _beat(case, str(d[-1]["ts"]), sessions_since(path, 0)[0])
    raw = gzip.compress(b"".join(json.dumps(ev).encode() + b"\n" for d in days for ev in d))
    got: dict[str, Any] = json.loads(case.device.api.request(
        "POST", f"/terminals/{case.tid}/logs", raw, "application/gzip"))
    case.uploads.append(str(got["sha256"]))
    return got


def _opened(api: TmsClient, case: Case) -> dict[str, Any] | None:
    found = [i for i in api.call("GET", "/incidents?limit=1000")["items"]
             if i["scope"] == {"tid": case.tid} and i["cause"] == case.label]
    return found[0] if found else None


def _work(api: TmsClient, case: Case, console: Console) -> None:
    """Acknowledge, do the runbook's action, tick its steps, resolve with the window."""
    inc_id = case.incident["id"]
    api.call("POST", f"/incidents/{inc_id}/ack")
    if case.remedy is Remedy.MAINTENANCE:
        api.call("POST", f"/incidents/{inc_id}/actions", {"action": "schedule_maintenance",
                                                          "kind": "cleaning"})
        done = api.call("POST", "/maintenance", {
            "tid": case.tid, "kind": "cleaning", "incident": str(inc_id),
            "note": "print head cleaned", "checklist": {"cleaning": True, "print_head": True,
                                                        "cables": True}})
        _say(console, "demoloop.maintained", tid=case.tid, record=done["id"])
    else:
        mid = api.call("GET", f"/terminals/{case.tid}")["mid"]
        gaps = sorted(g["operator"] for g in api.call("GET", "/training/gaps")["items"]
                      if g["mid"] == mid)
        for operator in gaps:
            api.call("POST", f"/incidents/{inc_id}/actions", {
                "action": "assign_training", "operator": operator, "course": "basics"})
            api.call("POST", "/training-records", {"operator": operator, "tid": case.tid,
                                                   "course": "basics", "score": 90})
        _say(console, "demoloop.trained", tid=case.tid, operators=", ".join(gaps) or "—")
    for step in api.call("GET", f"/incidents/{inc_id}")["runbook"]:
        api.call("POST", f"/incidents/{inc_id}/steps/{step['n']}", {"done": True})
    api.call("POST", f"/incidents/{inc_id}/resolve", {
        "note": f"{case.remedy.value} done", "window_minutes": int(WINDOW.total_seconds() // 60)})


def _clock(db: str, opened: dict[int, dict[str, datetime]],
           uploads: dict[str, datetime], judge: bool = False) -> None:
    """The demo's clock: set the given times of incidents (by id) and the arrival of uploads
    (by sha256), then, with `judge`, run the TMS's remedy check as its sweeper does."""
    engine = tms_db.make_engine(tms_db.DatabaseUrl.parse(db))
    try:
        with tms_db.sessions(engine)() as session:
            for inc_id, times in opened.items():
                inc = session.get(Incident, inc_id)
                for name, value in times.items():
                    setattr(inc, name, value)
            for row in session.scalars(select(LogUpload).where(
                    LogUpload.sha256.in_(list(uploads)))):
                row.received_at = uploads[row.sha256]
            if judge:
                session.flush()
                incidents.check(session)
            session.commit()
    finally:
        engine.dispose()


def _start(day: DemoDay, api: TmsClient, url: str, remedy_day: datetime,
           console: Console) -> list[Case]:
    """The fleet simulated, two of its terminals onboarded, their days before the remedy
    reported: the cases whose incident opened."""
    plan_fleet, plans = remedy.fleet_with(tuple(c for c, _ in CASES), TERMINALS, DAYS, SEED)
    devices = fleet(day, api, url, len(CASES), name="杭州湖滨小吃有限公司", licence=2,
                    prefix="LOOP")
    cases = []
    for (label, cure), device in zip(CASES, devices, strict=True):
        days = remedy.replay(plans[label], plan_fleet, SEED, cure, ON_DAY)
        case = Case(label, cure, device, _rebased(days, device.tid, remedy_day - WINDOW))
        got = _report(case, case.days[:ON_DAY])
        opened = _opened(api, case)
        cause = i18n.t(f"demoloop.cause.{label}", "en")
        if not day.expect(f"{case.tid}'s log of {ON_DAY} days diagnosed {got['cause']}: its "
                          f"flash-exits became an incident ({cause})", opened is not None):
            continue
        case.incident = opened or {}
        for lang in ("zh", "en"):
            console.print("   " + i18n.t("demoloop.opened", lang, tid=case.tid, days=ON_DAY,
                                         events=got["events"], incident=case.incident["id"],
                                         cause=i18n.t(f"demoloop.cause.{label}", lang)),
                          highlight=False, soft_wrap=True)
        cases.append(case)
    return cases


def close_loop(day: DemoDay, url: str, password: str, console: Console) -> None:
    """Incidents from the simulated fleet, two remedies done, both checked and printed."""
    api = TmsClient(url).login("admin", password)
    remedy_day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - WINDOW
    db = str(day.host.db)
    try:
        cases = _start(day, api, url, remedy_day, console)
        opened_at = remedy_day - timedelta(hours=2)  # the logs before came in that evening
        _clock(db, {c.incident["id"]: {"opened_at": opened_at} for c in cases},
               {c.uploads[0]: opened_at - timedelta(hours=1) for c in cases})
        for case in cases:
            _work(api, case, console)
            _report(case, case.days[ON_DAY:])
        _clock(db, {c.incident["id"]: {"acked_at": opened_at + timedelta(hours=1),
                                       "resolved_at": remedy_day} for c in cases},
               {c.uploads[-1]: remedy_day + WINDOW - timedelta(hours=1) for c in cases}, judge=True)
        for case in cases:  # today: the terminals heartbeat as ever
            _beat(case, now_ts(), {})
    except TmsCallError as exc:
        day.expect(f"the loop's TMS calls: {exc}", False)
        return
    for case in cases:
        _checked(day, api, url, case, console)


def _checked(day: DemoDay, api: TmsClient, url: str, case: Case, console: Console) -> None:
    """The incident as the TMS shows it now: both figures printed, the drop expected."""
    inc = api.call("GET", f"/incidents/{case.incident['id']}")
    check = inc["check"]
    values = {"tid": case.tid, "before": check["before"], "after": check["after"],
              "days": ON_DAY}
    for lang in ("zh", "en"):
        console.print("   " + i18n.t("demoloop.check", lang, **values,
                                     cause=i18n.t(f"demoloop.cause.{case.label}", lang),
                                     figure=i18n.t(f"figure.{check['figure']}", lang),
                                     verdict=i18n.t(f"verdict.{check['verdict']}", lang)),
                      highlight=False, soft_wrap=True)
    console.print(f"   {url}/ui/incidents/{case.incident['id']}", highlight=False)
    day.expect(f"remedy check {case.tid} {case.label}: {check['figure']} {check['before']} → "
               f"{check['after']}, the incident stays resolved",
               check["before"] is not None and check["after"] is not None
               and check["after"] < check["before"] and inc["status"] == "resolved")
