"""The terminal's event log v1 (docs/flash-exit-diagnosis.md): a normal sale reads as one clean
flow; a kill, a lost answer or a printer jam reads as an episode at the screen where it broke;
every line is a JSON object with ts, tid and type, and its values are the doc's."""

from __future__ import annotations

import json
import re
from typing import Any

from rig import CARD, KILLED, MID, TID, TerminalRig, episodes, wrong_pin

from steadypos.diagnose.engine import diagnose
from steadypos.terminal.events import events_path

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ALLOWED: dict[str, dict[str, set[Any]]] = {
    "app": {"event": {"start", "exit"},
            "reason": {"normal", "crash", "anr", "killed", "power_loss", "watchdog"}},
    "screen": {"screen": {"idle", "amount", "card", "pin", "online", "result", "receipt",
                          "settings"}},
    "card": {"method": {"swipe", "chip", "contactless", "qr"}, "ok": {True, False},
             "error": {None, "bad_read", "lrc", "chip_mute", "no_code", "wrong_method"}},
    "pin": {"outcome": {"entered", "cancelled", "timeout"}},
    "txn": {"kind": {"sale", "void", "refund", "balance", "reversal", "sign_in", "settle"},
            "phase": {"sent", "response", "timeout", "conn_fail", "mac_fail"}},
    "net": {"event": {"up", "down", "connect_fail", "reset"}},
    "params": {"event": {"applied", "mismatch"}},
}


def _check_v1(events: list[dict[str, Any]]) -> None:
    """Every line: ts (RFC 3339 UTC, ms), our tid, a type; known types with the doc's values."""
    for ev in events:
        assert TS.match(ev["ts"]), ev
        assert ev["tid"] == TID
        for key, values in ALLOWED.get(ev["type"], {}).items():
            if key in ev:
                assert ev[key] in values, ev
    stamps = [ev["ts"] for ev in events]
    assert stamps == sorted(stamps)


def _last_run(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the last command (from its app start)."""
    starts = [i for i, ev in enumerate(events) if ev["type"] == "app" and ev["event"] == "start"]
    return events[starts[-1]:]


def _compact(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for ev in events:
        kind = ev["type"]
        if kind == "app":
            out.append(f"app {ev['event']}" + (f" {ev['reason']}" if "reason" in ev else ""))
        elif kind == "screen":
            out.append(f"screen {ev['screen']}")
        elif kind == "card":
            out.append(f"card {ev['method']} ok={ev['ok']}")
        elif kind == "pin":
            out.append(f"pin {ev['outcome']}")
        elif kind == "txn":
            out.append(f"txn {ev['kind']} {ev['phase']}")
        elif kind == "net":
            out.append(f"net {ev['event']}")
    return out


def test_normal_sale(signed: TerminalRig) -> None:
    ran = signed.sale("12.34")
    assert ran.code == 0
    events = signed.events()
    _check_v1(events)
    run = _last_run(events)
    assert _compact(run) == [
        "app start", "screen idle", "screen amount", "screen card", "card swipe ok=True",
        "screen pin", "pin entered", "screen online", "net up", "txn sale sent",
        "txn sale response", "screen receipt", "screen result", "screen idle",
        "app exit normal"]
    sent = next(e for e in run if e["type"] == "txn" and e["phase"] == "sent")
    resp = next(e for e in run if e["type"] == "txn" and e["phase"] == "response")
    assert sent["stan"] == resp["stan"] == ran.data["stan"] and sent["amount"] == 1234
    assert resp["rc"] == "00" and isinstance(resp["latency_ms"], int)
    assert 0 <= resp["latency_ms"] < 5000
    assert episodes(events) == []


def test_declined_sale_is_a_clean_flow(signed: TerminalRig) -> None:
    assert signed.sale(pin=wrong_pin(CARD)).code == 1
    run = _last_run(signed.events())
    screens = [e["screen"] for e in run if e["type"] == "screen"]
    assert screens == ["idle", "amount", "card", "pin", "online", "result", "idle"]
    assert next(e for e in run if e.get("phase") == "response")["rc"] == "55"
    assert episodes(signed.events()) == []


def test_kill_at_request_sent_shows_the_broken_flow(signed: TerminalRig) -> None:
    ran = signed.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                       CARD["pin"], kill_at="request_sent")
    assert ran.code == KILLED
    assert signed.cli("journal").code == 0  # the restart
    events = signed.events()
    _check_v1(events)
    starts = [i for i, e in enumerate(events) if e["type"] == "app" and e["event"] == "start"]
    killed = events[starts[-2]:starts[-1]]
    assert not any(e.get("screen") == "result" for e in killed)
    assert [e["screen"] for e in killed if e["type"] == "screen"][-1] == "online"
    # The dead process wrote no exit; the restart writes it for the session, at its last event.
    exits = [e for e in killed if e["type"] == "app" and e["event"] == "exit"]
    assert [(e["reason"], e["ts"]) for e in exits] == [("killed", killed[-2]["ts"])]
    assert killed[-1] is exits[0]
    found = episodes(events)
    assert [(e["screen"], e["ended_by"]) for e in found] == [("online", "app exit killed")]
    # The restart tells what it found, in the log too.
    assert any(e["type"] == "recovery" for e in events[starts[-1]:])


def test_lost_answer_is_an_episode_at_online(signed: TerminalRig) -> None:
    signed.proxy.set("drop", "0200")
    assert signed.sale().code == 3
    run = _last_run(signed.events())
    assert "txn sale conn_fail" in _compact(run) and "net reset" in _compact(run)
    assert [e["screen"] for e in episodes(signed.events())] == ["online"]


def test_printer_jam_is_an_episode_at_receipt(signed: TerminalRig) -> None:
    assert signed.sale(bench=("--fault", "printer=jam")).code == 0
    events = signed.events()
    _check_v1(events)
    assert [e["screen"] for e in episodes(events)] == ["receipt"]
    health = [e for e in _last_run(events) if e["type"] == "health"]
    assert [h["printer"] for h in health] == ["jam"]


def test_recovery_reprint_is_not_another_episode(signed: TerminalRig) -> None:
    """Killed after the record is cleared: one episode (at `online`, where it broke); the
    reprint at the restart completes with a result screen and is no flash-exit of its own."""
    ran = signed.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                       CARD["pin"], kill_at="reversal_cleared")
    assert ran.code == KILLED
    assert signed.cli("recover").code == 0
    assert signed.sale("1.00").code == 0
    events = signed.events()
    _check_v1(events)
    assert [e["screen"] for e in episodes(events)] == ["online"]


def test_sign_in_and_reversal_events(signed: TerminalRig) -> None:
    signed.proxy.set("drop", "0200")
    pending = signed.sale()
    signed.proxy.set("forward")
    assert signed.cli("recover").code == 0
    run = _compact(_last_run(signed.events()))
    assert "txn reversal sent" in run and "txn reversal response" in run
    events = signed.events()
    assert any(e["type"] == "params" and e["event"] == "applied" for e in events)
    rev = [e for e in events if e.get("kind") == "reversal" and e.get("phase") == "response"]
    assert rev[-1]["stan"] == pending.data["stan"] and rev[-1]["rc"] == "00"
    _check_v1(events)


def test_inventory_every_session_and_no_kill_after_a_clean_exit(signed: TerminalRig) -> None:
    assert signed.sale().code == 0
    events = signed.events()
    starts = [i for i, e in enumerate(events) if e["type"] == "app" and e["event"] == "start"]
    assert [events[i + 1]["type"] for i in starts] == ["inventory"] * len(starts)
    inv = events[starts[-1] + 1]
    assert {k: inv[k] for k in ("brand", "model", "mid", "params_version", "last_maintenance")} \
        == {"brand": "steadypos", "model": "sim", "mid": MID, "params_version": "1",
            "last_maintenance": None}
    assert inv["app_version"] and inv["firmware"]
    assert not any(e["type"] == "app" and e.get("reason") == "killed" for e in events)


def test_a_session_cut_mid_line_is_closed_and_its_line_stays_one(signed: TerminalRig) -> None:
    """A process killed in the middle of writing a line: the next start ends that line (one
    malformed line for the reader), then closes the session at its last whole event."""
    path = events_path(signed.journal)
    ts = signed.events()[-1]["ts"]
    amount = {"ts": ts, "tid": TID, "type": "screen", "screen": "amount"}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({**amount, "type": "app", "event": "start"}) + "\n")
        fh.write(json.dumps(amount) + "\n" + f'{{"ts": "{ts}", "ti')
    assert signed.cli("journal").code == 0
    lines = path.read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if line.endswith('"ti'))
    exit_ = json.loads(lines[cut + 1])
    assert (exit_["event"], exit_["reason"], exit_["ts"]) == ("exit", "killed", amount["ts"])
    d = diagnose([str(path)])
    assert d.stats.malformed == 1
    assert [(ep.screen, ep.end_kind) for ep in d.episodes] == [("amount", "killed")]


def test_a_crash_is_logged_with_its_exception_and_frames(signed: TerminalRig) -> None:
    """The journal's disk fails at the 3rd write of the sale (PIN captured): the command stops
    the payment and the session ends `reason=crash` with where it came from, innermost first."""
    ran = signed.sale(bench=("--disk-fault", "full:3"))
    assert ran.data["result"] == "failed", ran.output
    events = signed.events()
    _check_v1(events)
    exit_ = events[-1]
    assert (exit_["event"], exit_["reason"]) == ("exit", "crash")
    assert exit_["exception"] == "steadypos.terminal.journal.JournalError"
    assert exit_["frames"][0].startswith("steadypos.terminal.journal.Journal.")
    assert any(f.startswith("steadypos.terminal.flows.Terminal.sale") for f in exit_["frames"])
    assert [(e["screen"], e["ended_by"]) for e in episodes(events)] == [("pin", "app exit crash")]
