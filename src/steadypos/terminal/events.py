"""The terminal's event log v1 (docs/flash-exit-diagnosis.md): JSON Lines beside the journal, read
by `steadypos diagnose`. Appended and flushed, never synced: it is evidence, not money.

A session runs from `app start` to `app exit`. A session that ended without its exit (SIGKILL,
power cut) is closed at the next start with `app exit reason=killed`, stamped with that session's
last event, so that the crash reads as an exit and not only as a restart."""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steadypos import __version__
from steadypos.files import make_private

TAIL_BYTES = 16 << 10  # how much of the log's end is read at start: the last session's end
MAX_FRAMES = 8


def events_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".events.jsonl")


def _ts() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _frames(exc: BaseException) -> list[str]:
    """Where an exception came from as `module.qualname`, innermost first (the doc's frames)."""
    frames = [f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"
              for frame, _ in traceback.walk_tb(exc.__traceback__)]
    return frames[::-1][:MAX_FRAMES]


def _tail(path: Path) -> tuple[bytes, bool]:
    """The log's last bytes, and whether they are the whole file."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            return fh.read(), size <= TAIL_BYTES
    except OSError:
        return b"", True


def unclosed_session(tail: bytes, whole: bool) -> tuple[str, str] | None:
    """(ts of its last event, its app_version) when the log's last session has no `app exit`;
    None when it closed or there is none."""
    lines = tail.splitlines()
    if not whole:
        lines = lines[1:]  # the first line may be cut by the seek
    last_ts = None
    for raw in reversed(lines):
        try:
            rec = json.loads(raw)
        except ValueError:
            continue  # a line cut by the kill
        if not isinstance(rec, dict):
            continue
        if last_ts is None and isinstance(rec.get("ts"), str):
            last_ts = rec["ts"]
        if rec.get("type") == "app" and rec.get("event") == "exit":
            return None
        if rec.get("type") == "app" and rec.get("event") == "start":
            return last_ts or _ts(), str(rec.get("app_version") or __version__)
    return (last_ts, __version__) if last_ts else None


class EventLog:
    def __init__(self, path: Path, tid: str, app_version: str = __version__) -> None:
        self.path = path
        self.tid = tid
        self.app_version = app_version  # the running release (terminal/releases.py)
        tail, whole = _tail(path)
        self._unclosed = unclosed_session(tail, whole)
        make_private(path)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the session
        if tail and not tail.endswith(b"\n"):
            self._write("\n")  # end a line cut by a kill: it stays one malformed line

    def emit(self, type_: str, at: str | None = None, **keys: Any) -> None:
        """Append one event, stamped now (or `at`, an earlier event's time)."""
        self._write(json.dumps({"ts": at or _ts(), "tid": self.tid, "type": type_, **keys},
                               separators=(",", ":")) + "\n")

    def _write(self, text: str) -> None:
        try:
            self._fh.write(text)
            self._fh.flush()
        except OSError:
            pass  # a full disk must not stop a payment; the journal is what counts

    def close(self) -> None:
        self._fh.close()

    # Shorthands for the event types the terminal writes.
    def app_start(self) -> None:
        """Start a session, first closing the previous one if it never logged its exit. The
        terminal cannot tell a SIGKILL from a power cut: `killed` says only that the app was
        stopped from outside, with no chance to log it."""
        if self._unclosed is not None:
            ts, version = self._unclosed
            self.emit("app", at=ts, event="exit", app_version=version, reason="killed")
            self._unclosed = None
        self.emit("app", event="start", app_version=self.app_version)

    def app_exit(self, reason: str, exc: BaseException | None = None) -> None:
        keys: dict[str, Any] = {"event": "exit", "app_version": self.app_version,
                                "reason": reason}
        if exc is not None:
            keys["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            keys["frames"] = _frames(exc)
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

    def inventory(self, mid: str | None, params_version: str | None) -> None:
        """What the terminal is, once a session: the firmware is the kernel it runs on, and it
        keeps no maintenance record (null: none on record)."""
        self.emit("inventory", brand="steadypos", model="sim", firmware=os.uname().release,
                  app_version=self.app_version, params_version=params_version, mid=mid,
                  last_maintenance=None)
