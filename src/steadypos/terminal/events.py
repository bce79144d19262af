"""The terminal's event log v1 (docs/flash-exit-diagnosis.md): JSON Lines beside the journal, read
by `steadypos diagnose`. Appended and flushed, never synced: it is evidence, not money.

A session runs from `app start` to `app exit`. A session that ended without its exit (SIGKILL,
power cut) is closed at the next start with `app exit reason=killed`, stamped with that session's
last event, so that the crash reads as an exit and not only as a restart; and when the journal
shows a flow the dead session was in but its log shows none open, the flow's screen is written
first, so that the flow the operator saw vanish reads as the episode it was."""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadypos import __version__
from steadypos.eventlog import AppEvent, EventType, ExitReason, encode, now_ts
from steadypos.files import make_private
from steadypos.terminal.steps import FLOW_SCREENS

# The screens of a flow in progress (the doc's `amount`, `card`, `pin`, `online`, `receipt`).
IN_FLOW = frozenset(screen for seq in FLOW_SCREENS.values() for _, screen in seq)

TAIL_BYTES = 16 << 10  # how much of the log's end is read at start: the last session's end
MAX_FRAMES = 8


def events_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".events.jsonl")


def _frames(exc: BaseException) -> list[str]:
    """Where an exception came from as `module.qualname`, innermost first (the doc's frames)."""
    frames = [f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"
              for frame, _ in traceback.walk_tb(exc.__traceback__)]
    return frames[::-1][:MAX_FRAMES]


def read_tail(path: Path, limit: int = TAIL_BYTES) -> tuple[bytes, bool]:
    """The log's last `limit` bytes (b"" when it cannot be read), and whether they are the whole
    file (when not, the first line may be cut)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - limit))
            return fh.read(), size <= limit
    except OSError:
        return b"", True


def newest_first(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    """The records of these log lines, the newest first; a line cut by a kill is passed over."""
    for raw in reversed(lines):
        try:
            rec = json.loads(raw)
        except ValueError:
            continue  # a line cut by the kill
        if isinstance(rec, dict):
            yield rec


@dataclass(frozen=True)
class Unclosed:
    """The end of a session that never logged its exit."""

    ts: str  # of its last event
    app_version: str
    flow_open: bool  # its last screen is a flow's: the flow that broke shows in the log


def unclosed_session(tail: bytes, whole: bool) -> Unclosed | None:
    """The log's last session when it has no `app exit`; None when it closed or there is none."""
    lines = tail.splitlines()
    if not whole:
        lines = lines[1:]  # the first line may be cut by the seek
    last_ts, last_screen = None, None
    for rec in newest_first(lines):
        if last_ts is None and isinstance(rec.get("ts"), str):
            last_ts = rec["ts"]
        if last_screen is None and rec.get("type") == "screen":
            last_screen = rec.get("screen")
        if rec.get("type") == "app" and rec.get("event") == "exit":
            return None
        if rec.get("type") == "app" and rec.get("event") == "start":
            return Unclosed(last_ts or now_ts(), str(rec.get("app_version") or __version__),
                            last_screen in IN_FLOW)
    return Unclosed(last_ts, __version__, last_screen in IN_FLOW) if last_ts else None


class EventLog:
    def __init__(self, path: Path, tid: str, app_version: str = __version__) -> None:
        self.path = path
        self.tid = tid
        self._back: str | None = None  # where screens shown inside a flow go back to
        self.app_version = app_version  # the running release (terminal/releases.py)
        tail, whole = read_tail(path)
        self._unclosed = unclosed_session(tail, whole)
        make_private(path)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the session
        if tail and not tail.endswith(b"\n"):
            self._write("\n")  # end a line cut by a kill: it stays one malformed line

    def emit(self, type_: EventType | str, at: str | None = None, **keys: Any) -> None:
        """Append one event, stamped now (or `at`, an earlier event's time), encoded by the
        event log's own module (steadypos.eventlog: ts, tid, type first)."""
        self._write(encode(at or now_ts(), self.tid, type_, keys) + "\n")

    def _write(self, text: str) -> None:
        try:
            self._fh.write(text)
            self._fh.flush()
        except OSError:
            pass  # a full disk must not stop a payment; the journal is what counts

    def close(self) -> None:
        self._fh.close()

    # Shorthands for the event types the terminal writes.
    def app_start(self, broke_at: str | None = None) -> None:
        """Start a session, first closing the previous one if it never logged its exit. The
        terminal cannot tell a SIGKILL from a power cut: `killed` says only that the app was
        stopped from outside, with no chance to log it. `broke_at`: the screen the journal's
        interrupted flow was on (`steps.screen_at`). A run can die with that flow on disk and
        none open in its log: killed right after the flow's journal row, before its next screen,
        when the flow had not shown one yet (a balance inquiry) or when a recovery in its gate
        had shown its own result and idle. The log then catches up with that screen, at the
        session's last event, before the exit."""
        if self._unclosed is not None:
            end = self._unclosed
            if broke_at is not None and not end.flow_open:
                self.emit(EventType.SCREEN, at=end.ts, screen=broke_at)
            self.emit(EventType.APP, at=end.ts, event=AppEvent.EXIT, app_version=end.app_version,
                      reason=ExitReason.KILLED)
            self._unclosed = None
        self.emit(EventType.APP, event=AppEvent.START, app_version=self.app_version)

    def app_exit(self, reason: ExitReason | str, exc: BaseException | None = None) -> None:
        keys: dict[str, Any] = {"event": AppEvent.EXIT, "app_version": self.app_version,
                                "reason": reason}
        if exc is not None:
            keys["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            keys["frames"] = _frames(exc)
        self.emit(EventType.APP, **keys)

    def screen(self, name: str) -> None:
        self.emit(EventType.SCREEN, screen=self._back if name == "idle" and self._back else name)

    @contextmanager
    def inside(self, screen: str) -> Iterator[None]:
        """Screens shown inside a flow that is on `screen` (a recovery in a sale's gate, with its
        own receipt and result) go back to that screen, not to idle: the flow goes on, and a
        result of theirs must not close it in the log, or a crash after it would leave none."""
        outer, self._back = self._back, screen
        try:
            yield
        finally:
            self._back = outer

    def txn(self, kind: str, stan: int, phase: str, started: float | None = None,
            **keys: Any) -> None:
        if started is not None:
            keys["latency_ms"] = int((time.monotonic() - started) * 1000)
        self.emit(EventType.TXN, kind=kind, stan=f"{stan:06d}", phase=phase, **keys)

    def net(self, event: str, **keys: Any) -> None:
        self.emit(EventType.NET, event=event, **keys)

    def inventory(self, mid: str | None, params_version: str | None) -> None:
        """What the terminal is, once a session: the firmware is the kernel it runs on, and it
        keeps no maintenance record (null: none on record)."""
        self.emit(EventType.INVENTORY, brand="steadypos", model="sim", firmware=os.uname().release,
                  app_version=self.app_version, params_version=params_version, mid=mid,
                  last_maintenance=None)
