"""Both writers of event log v1, the terminal's (terminal/events.py) and the fleet simulator's,
speak the schema of steadypos.eventlog: its types, its keys' values, its timestamps."""

from __future__ import annotations

import io
import json
import re
from enum import StrEnum
from pathlib import Path

from steadypos import eventlog as el
from steadypos.diagnose.reader import parse_ts
from steadypos.fleetsim.writer import write_fleet
from steadypos.terminal.events import EventLog

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# (type, key) -> the enum its values come from
VALUES: dict[tuple[str, str], type[StrEnum]] = {
    ("app", "event"): el.AppEvent, ("app", "reason"): el.ExitReason,
    ("screen", "screen"): el.Screen, ("card", "method"): el.CardMethod,
    ("card", "error"): el.CardError, ("pin", "outcome"): el.PinOutcome,
    ("txn", "kind"): el.TxnKind, ("txn", "phase"): el.TxnPhase, ("net", "event"): el.NetEvent,
    ("health", "power"): el.Power, ("health", "printer"): el.PrinterState,
    ("params", "event"): el.ParamsEvent, ("operator", "event"): el.OperatorEvent,
    ("maintenance", "kind"): el.MaintenanceKind,
}  # fmt: skip


def _check(lines: list[str]) -> set[str]:
    seen = set()
    for line in lines:
        ev = json.loads(line)
        assert list(ev)[:3] == ["ts", "tid", "type"], line
        assert TS.match(ev["ts"]) and parse_ts(ev["ts"]) > 0, line
        if ev["type"] not in el.TYPES:
            continue  # unknown types are allowed, and ignored by readers
        seen.add(ev["type"])
        for key in el.KEYS[el.EventType(ev["type"])]:
            enum = VALUES.get((ev["type"], key))
            if enum is not None and ev.get(key) is not None:
                assert ev[key] in set(enum), (key, line)
    return seen


def test_the_terminals_writer_uses_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "t.events.jsonl"
    log = EventLog(path, "T0001", "2.1.0")
    log.app_start()
    log.inventory("M1", "P7")
    log.net(el.NetEvent.UP, signal_dbm=-70)
    for screen in (el.Screen.AMOUNT, el.Screen.CARD):
        log.screen(screen)
    log.emit(el.EventType.CARD, method=el.CardMethod.CHIP, ok=True, error=None)
    log.txn(el.TxnKind.SALE, 7, el.TxnPhase.SENT, amount=1200)
    log.txn(el.TxnKind.SALE, 7, el.TxnPhase.RESPONSE, rc="00")
    log.screen(el.Screen.RESULT)
    log.screen(el.Screen.IDLE)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        log.app_exit(el.ExitReason.CRASH, exc)
    log.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert _check(lines) == {"app", "inventory", "net", "screen", "card", "txn"}
    assert json.loads(lines[1]) == {**json.loads(lines[1]), "type": "inventory", "mid": "M1"}
    exit_ = json.loads(lines[-1])
    assert (exit_["reason"], exit_["exception"]) == ("crash", "builtins.RuntimeError")


def test_the_simulators_writer_uses_the_schema() -> None:
    buf = io.StringIO()
    write_fleet(12, 1, 5, buf)
    assert len(_check(buf.getvalue().splitlines())) >= 9
