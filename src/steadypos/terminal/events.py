"""The terminal's event log v1 (docs/flash-exit-diagnosis.md): JSON Lines beside the journal, read
by `steadypos diagnose`. Appended and flushed, never synced: it is evidence, not money."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steadypos import __version__


def events_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".events.jsonl")


def _ts() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventLog:
    def __init__(self, path: Path, tid: str) -> None:
        self.path = path
        self.tid = tid
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the session

    def emit(self, type_: str, **keys: Any) -> None:
        record = {"ts": _ts(), "tid": self.tid, "type": type_, **keys}
        try:
            self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._fh.flush()
        except OSError:
            pass  # a full disk must not stop a payment; the journal is what counts

    def close(self) -> None:
        self._fh.close()

    # Shorthands for the event types the terminal writes.
    def app_start(self) -> None:
        self.emit("app", event="start", app_version=__version__)

    def app_exit(self, reason: str, exception: str | None = None) -> None:
        keys: dict[str, Any] = {"event": "exit", "app_version": __version__, "reason": reason}
        if exception:
            keys["exception"] = exception
        self.emit("app", **keys)

    def screen(self, name: str) -> None:
        self.emit("screen", screen=name)

    def txn(self, kind: str, stan: int, phase: str, started: float | None = None,
            **keys: Any) -> None:
        if started is not None:
            keys["latency_ms"] = int((time.monotonic() - started) * 1000)
        self.emit("txn", kind=kind, stan=f"{stan:06d}", phase=phase, **keys)

    def net(self, event: str, **keys: Any) -> None:
        self.emit("net", event=event, **keys)


def inventory(log: EventLog, mid: str, params_version: str) -> None:
    log.emit("inventory", brand="steadypos", model="sim", firmware=os.uname().release,
             app_version=__version__, params_version=params_version, mid=mid,
             last_maintenance=None)
