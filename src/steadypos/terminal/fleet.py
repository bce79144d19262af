"""The terminal's side of the TMS (over HTTP, never importing the TMS): its parameters (fetched
and applied between payments, never during one), heartbeats with the health readings of event
log v1 and the sessions since the last one, releases offered in a heartbeat's instructions, and
log uploads. Everything here runs only when no payment is in progress."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from steadypos.clock import now_ts
from steadypos.files import write_private_json
from steadypos.terminal import releases
from steadypos.terminal.devices import Faults
from steadypos.terminal.events import EventLog, events_path
from steadypos.terminal.journal import IN_PROGRESS, PARAMS_WAITING, Journal
from steadypos.terminal.tmsclient import TmsCallError, TmsClient

HEALTH_ENV = "STEADYPOS_HEALTH"  # simulated readings, e.g. `battery_pct=80,power=battery`
CRASHED = frozenset({"crash", "anr", "watchdog"})  # exits that end a session as a crash
LOG_OFFSET = "heartbeat_log_offset"  # where the last heartbeat's session count stopped
# The parameters a terminal runs with: journal config key -> the TMS's value name.
PARAM_KEYS = {"tid": "tid", "mid": "mid", "host": "host", "port": "port", "tpdu": "tpdu",
              "timeout": "timeout_s", "txn_limit_fen": "txn_limit_fen",
              "receipt_header": "receipt_header"}
INT_VALUES = frozenset({"port", "timeout_s", "txn_limit_fen"})


class Api(Protocol):
    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any: ...

    def request(self, method: str, path: str, data: bytes | None = None,
                content_type: str | None = None) -> bytes: ...


def tms_file(journal: Path) -> Path:
    return journal.with_name(journal.name + ".tms.json")  # written by activation (0600)


def tms_settings(journal: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(tms_file(journal).read_text())
        return data
    except (OSError, ValueError):
        return None  # not activated through a TMS


def client_for(journal: Path) -> TmsClient | None:
    cfg = tms_settings(journal)
    return None if cfg is None else TmsClient(cfg["tms"], cfg["terminal_token"], timeout=10)


def local_params(cfg: dict[str, str]) -> dict[str, Any]:
    """What the terminal runs with, in the TMS's names."""
    out: dict[str, Any] = {}
    for key, name in PARAM_KEYS.items():
        if key in cfg:
            out[name] = int(float(cfg[key])) if name in INT_VALUES else cfg[key]
    return out


def edit_params(journal: Journal, changes: dict[str, str]) -> None:
    """A technician's hand edit of the local parameters (the settings screen)."""
    names = {name: key for key, name in PARAM_KEYS.items()}
    unknown = sorted(set(changes) - set(names))
    if unknown:
        raise ValueError(f"no such parameter: {', '.join(unknown)} (known: {', '.join(names)})")
    journal.set_config({names[k]: v for k, v in changes.items()})


def between_payments(journal: Journal) -> bool:
    """True when no payment is open: nothing in progress, no reversal waiting to go first."""
    return not journal.txns(state=IN_PROGRESS) and not journal.reversals()


def apply_params(journal: Journal, events: EventLog, api: Api) -> int | None:
    """Fetch and apply the assigned parameters; the version now running, None if refused."""
    cfg = journal.config()
    got = api.call("GET", f"/terminals/{cfg['tid']}/parameters")
    values, version = got["values"], int(got["version"])
    for name in ("tid", "mid"):
        if values.get(name) != cfg.get(name):
            events.emit("params", event="mismatch", field=name, version=str(version))
            return None
    update = {key: str(values[name]) for key, name in PARAM_KEYS.items()
              if name in values and name not in ("tid", "mid")}
    update["tpdu"] = update.get("tpdu", cfg.get("tpdu", "")).upper()
    update["params_version"] = str(version)
    journal.set_config(update)
    journal.set_counter(PARAMS_WAITING, 0)
    events.emit("params", event="applied", version=str(version))
    return version


def _meminfo() -> tuple[int | None, int | None]:
    try:
        lines = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return (int(lines["MemAvailable"].split()[0]) // 1024,
                int(lines["MemTotal"].split()[0]) // 1024)
    except (OSError, KeyError, ValueError):
        return None, None


def _cpu_temp() -> int | None:
    try:
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) // 1000
    except (OSError, ValueError):
        return None


def readings(journal_path: Path) -> dict[str, Any]:
    """The health readings (event log v1's `health` keys): the machine's memory, storage and
    temperature, the simulated printer's state, simulated battery/power/signal from
    STEADYPOS_HEALTH."""
    free, total = _meminfo()
    health: dict[str, Any] = {"mem_free_mb": free, "mem_total_mb": total,
                              "storage_free_mb": shutil.disk_usage(journal_path.parent).free
                              // (1 << 20),
                              "cpu_temp_c": _cpu_temp(), "power": "ac",
                              "printer": Faults().switches.get("printer", "ok")}
    for part in os.environ.get(HEALTH_ENV, "").split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() in ("battery_pct", "cpu_temp_c", "signal_dbm"):
            health[key.strip()] = int(value)
        elif sep and key.strip() in ("power", "printer"):
            health[key.strip()] = value.strip()
    return {k: v for k, v in health.items() if v is not None}


def sessions_since(path: Path, offset: int) -> tuple[dict[str, dict[str, int]], int]:
    """{app_version: {started, crashed}} from the event log after `offset`, and the new offset
    (only whole lines are counted)."""
    out: dict[str, dict[str, int]] = {}
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) < offset:
                offset = 0  # the log was replaced
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return out, offset
    whole = data[:data.rfind(b"\n") + 1]
    for raw in whole.splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(rec, dict) or rec.get("type") != "app":
            continue
        row = out.setdefault(str(rec.get("app_version") or "?"), {"started": 0, "crashed": 0})
        if rec.get("event") == "start":
            row["started"] += 1
        elif rec.get("event") == "exit" and rec.get("reason") in CRASHED:
            row["crashed"] += 1
    return out, offset + len(whole)


@dataclass
class Agent:
    """One terminal's dealings with the TMS: `heartbeat()` sends one and follows what it says."""

    journal_path: Path
    api: Api
    say: Callable[[str], None] = print
    sent: list[dict[str, Any]] = field(default_factory=list)

    def _state(self) -> dict[str, Any]:
        return tms_settings(self.journal_path) or {}

    def _save_state(self, **changes: Any) -> None:
        write_private_json(tms_file(self.journal_path), {**self._state(), **changes})

    def heartbeat(self) -> dict[str, Any]:
        """Send one heartbeat and follow its instructions; the instructions."""
        journal = Journal(self.journal_path)
        events = EventLog(events_path(self.journal_path), journal.config().get("tid", "?"),
                          releases.Installed(self.journal_path).running_version())
        try:
            answer = self._beat(journal, events)
            if between_payments(journal):
                self._follow(journal, events, answer)
            return answer
        finally:
            events.close()
            journal.close()

    def _beat(self, journal: Journal, events: EventLog) -> dict[str, Any]:
        cfg = journal.config()
        health = readings(self.journal_path)
        events.emit("health", **health)
        offset = journal.counter(LOG_OFFSET, 0)
        sessions, new_offset = sessions_since(events.path, offset)
        body: dict[str, Any] = {
            "tid": cfg["tid"], "ts": now_ts(),
            "app_version": events.app_version, "params_version": int(cfg.get("params_version",
                                                                                "0")),
            "health": health, "sessions": sessions, "params": local_params(cfg),
            "pending_reversals": len(journal.reversals()),
            "open_batch": journal.counter("batch", 1)}
        report = self._state().get("release_report")
        if report:
            body["release"] = report
        answer: dict[str, Any] = self.api.call("POST", "/heartbeats", body)
        journal.set_counter(LOG_OFFSET, new_offset)
        if report:
            self._save_state(release_report=None)
        self.sent.append(body)
        return answer

    def _follow(self, journal: Journal, events: EventLog, answer: dict[str, Any]) -> None:
        if answer.get("parameters") or journal.counter(PARAMS_WAITING, 0):
            version = apply_params(journal, events, self.api)
            self.say(f"parameters version {version} applied" if version is not None
                     else "parameters refused: they name another terminal")
            if version is not None:
                self._beat(journal, events)  # the TMS (and the host's requirement 6) learn it
        offered = answer.get("release")
        if offered:
            self._release(journal, events, offered)
        if "rollback" in answer.get("actions", []):
            back = releases.Installed(self.journal_path).rollback()
            self.say(f"rolled back: {back} runs from the next start")
        if "upload_logs" in answer.get("actions", []):
            self.upload_logs()

    def _release(self, journal: Journal, events: EventLog, offered: dict[str, Any]) -> None:
        """Download, verify and install dormant, self-check, report `verified`, switch; or
        report `refused` and keep the working release."""
        version = offered["version"]
        key = self._state().get("release_public_key", "")
        try:
            raw = self.api.request("GET", f"/releases/{version}/package")
            releases.prepare(self.journal_path, raw, version, offered["sha256"],
                             offered["signature"], key)
        except (releases.ReleaseError, TmsCallError) as exc:
            self._save_state(release_report={"version": version, "state": "refused",
                                             "reason": str(exc)[:300]})
            self.say(f"release {version} refused: {exc}")
            self._beat(journal, events)
            return
        self._save_state(release_report={"version": version, "state": "verified"})
        self._beat(journal, events)
        releases.Installed(self.journal_path).switch(version)
        self._save_state(release_report={"version": version, "state": "switched"})
        self.say(f"release {version} verified and switched to; it runs from the next start")

    def upload_logs(self) -> dict[str, Any]:
        tid = Journal(self.journal_path).config()["tid"]
        data = gzip.compress(events_path(self.journal_path).read_bytes())
        answer: dict[str, Any] = json.loads(self.api.request(
            "POST", f"/terminals/{tid}/logs", data, "application/gzip"))
        return answer


def after_command(journal_path: Path, say: Callable[[str], None]) -> None:
    """The between-payments hook, run after each terminal command: when the host said newer
    parameters wait (processing requirement 6), a heartbeat fetches and applies them now, unless
    a payment is still open (then the next command tries again)."""
    journal = Journal(journal_path)
    try:
        waiting = journal.counter(PARAMS_WAITING, 0) and between_payments(journal)
    finally:
        journal.close()
    api = client_for(journal_path) if waiting else None
    if api is None:
        return
    try:
        Agent(journal_path, api, say).heartbeat()
    except (TmsCallError, KeyError, ValueError) as exc:
        say(f"new parameters wait in the TMS but could not be fetched: {exc}")
