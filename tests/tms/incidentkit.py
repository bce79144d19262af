"""Helpers of the incident tests: a printer-jam log and a wrong-PIN log as a terminal uploads
them, heartbeats with session counts, and moving an incident's times back (windows in the
past)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tmskit import DeviceApi, Tms

from steadypos.tms.ops_models import Incident
from steadypos.tms.services import logs


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def printer_jam_log(tid: str, sessions: int = 4, start: datetime | None = None,
                    cause: str = "head_fault") -> bytes:
    """`sessions` sessions that each end in a crash at the receipt printer."""
    t0 = start or datetime(2026, 11, 30, 10, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    for n in range(sessions):
        at = stamp(t0 + timedelta(minutes=10 * n))
        events += [{"ts": at, "tid": tid, "type": "app", "event": "start", "app_version": "1.0.0"},
                   {"ts": at, "tid": tid, "type": "health", "printer": cause},
                   {"ts": at, "tid": tid, "type": "screen", "screen": "receipt"},
                   {"ts": at, "tid": tid, "type": "app", "event": "exit",
                    "app_version": "1.0.0", "reason": "crash"}]
    return logs.gzip_lines(events)


def wrong_pin_log(tid: str, shifts: list[tuple[str, int, int]], start: datetime) -> bytes:
    """One operator after another (operator, good sales, sales declined 55 for a wrong PIN),
    each logging in and out."""
    t = start
    events: list[dict[str, Any]] = []

    def ev(type_: str, **keys: Any) -> None:
        nonlocal t
        events.append({"ts": stamp(t), "tid": tid, "type": type_, **keys})
        t += timedelta(seconds=20)

    ev("app", event="start", app_version="1.0.0")
    ev("screen", screen="idle")
    for operator, good, declined in shifts:
        ev("operator", event="login", operator=operator)
        for rc in ["00"] * good + ["55"] * declined:
            for screen in ("amount", "card", "pin", "online"):
                ev("screen", screen=screen)
            ev("txn", kind="sale", stan=1, phase="sent", amount=1234)
            ev("txn", kind="sale", stan=1, phase="response", rc=rc, latency_ms=300)
            for screen in ("receipt", "result", "idle") if rc == "00" else ("idle",):
                ev("screen", screen=screen)
        ev("operator", event="logout", operator=operator)
    return logs.gzip_lines(events)


def upload(api: DeviceApi, tid: str, raw: bytes) -> None:
    api.request("POST", f"/terminals/{tid}/logs", raw, "application/gzip")


def beat(api: DeviceApi, tid: str, at: datetime, started: int = 0, crashed: int = 0,
         version: str = "1.0.0", **health: Any) -> Any:
    body = {"tid": tid, "ts": stamp(at), "app_version": version, "params_version": 0,
            "health": {"battery_pct": 80, "power": "ac", "cpu_temp_c": 45, "printer": "ok",
                       **health},
            "sessions": {version: {"started": started, "crashed": crashed}} if started else {}}
    return api.call("POST", "/heartbeats", body)


def shift(tms: Tms, incident_id: str, by: timedelta) -> None:
    """Move an incident's times `by` into the past (its windows then lie where heartbeats,
    which may be at most 5 minutes ahead of the clock, can reach)."""
    with tms.ctx.sessions() as db:
        inc = db.get(Incident, int(incident_id))
        assert inc is not None
        for name in ("opened_at", "acked_at", "resolved_at"):
            value = getattr(inc, name)
            if value is not None:
                setattr(inc, name, value - by)
        db.commit()
