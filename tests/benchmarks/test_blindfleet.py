"""The blind fleet generator writes valid event log v1, shows every cause, and is reproducible."""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.blindfleet import catalog
from benchmarks.blindfleet.episodes import episodes
from benchmarks.blindfleet.fleet import LABELS, build_fleet
from benchmarks.blindfleet.generate import generate

ROOT = Path(__file__).resolve().parents[2]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def _str(v):
    return isinstance(v, str) and v != ""


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v):
    return _int(v) or isinstance(v, float)


def _enum(*values):
    return lambda v: v in values


# Event log v1, as the document lists it: type -> {key: check} for keys every line carries.
SCHEMA = {
    "inventory": {"brand": _str, "model": _str, "firmware": _str, "app_version": _str,
                  "params_version": _str, "mid": _str,
                  "last_maintenance": lambda v: v is None or bool(DATE.match(v))},
    "app": {"event": _enum("start", "exit"), "app_version": _str},
    "screen": {"screen": _enum("idle", "amount", "card", "pin", "online", "result", "receipt",
                               "settings")},
    "card": {"method": _enum("swipe", "chip", "contactless", "qr"),
             "ok": lambda v: isinstance(v, bool),
             "error": _enum(None, "bad_read", "lrc", "chip_mute", "no_code", "wrong_method")},
    "pin": {"outcome": _enum("entered", "cancelled", "timeout")},
    "txn": {"kind": _enum("sale", "void", "refund", "balance", "reversal", "sign_in", "settle"),
            "stan": _int, "phase": _enum("sent", "response", "timeout", "conn_fail", "mac_fail"),
            "amount": lambda v: _int(v) and v >= 0},
    "net": {"event": _enum("up", "down", "connect_fail", "reset"), "signal_dbm": _int,
            "latency_ms": _int},
    "health": {"mem_free_mb": _int, "mem_total_mb": _int, "cpu_temp_c": _num,
               "battery_pct": lambda v: _int(v) and 0 <= v <= 100,
               "power": _enum("ac", "battery", "unstable"),
               "printer": _enum("ok", "paper_out", "jam", "head_fault"), "signal_dbm": _int,
               "storage_free_mb": _int},
    "params": {"event": _enum("applied", "mismatch"), "version": _str},
    "operator": {"event": _enum("login", "logout"), "operator": _str},
    "training": {"operator": _str, "course": _str},
    "maintenance": {"kind": _enum("cleaning", "inspection", "part_replaced", "software_update")},
}
REASONS = {"normal", "crash", "anr", "killed", "power_loss", "watchdog"}


def problems(e: dict) -> list[str]:
    """What is wrong with one parsed line of a known type (empty when it is valid v1)."""
    bad = [k for k in ("ts", "tid", "type") if k not in e]
    if bad:
        return bad
    if not TS.match(e["ts"]) or not _str(e["tid"]):
        return ["ts/tid"]
    bad = [k for k, ok in SCHEMA[e["type"]].items() if k not in e or not ok(e[k])]
    kind = e["type"]
    if kind == "app" and e["event"] == "exit":
        if e.get("reason") not in REASONS:
            bad.append("reason")
        if "frames" in e and not (isinstance(e["frames"], list) and all(map(_str, e["frames"]))):
            bad.append("frames")
    if kind == "card" and e.get("ok") is (e.get("error") is not None):
        bad.append("ok/error")
    if kind == "txn":
        if (e.get("phase") == "response") != ("rc" in e) or ("rc" in e and not _str(e["rc"])):
            bad.append("rc")
        if e.get("phase") != "sent" and not _int(e.get("latency_ms")):
            bad.append("latency_ms")
    if kind == "params" and e.get("event") == "mismatch" and not _str(e.get("field")):
        bad.append("field")
    return bad


def read_log(path: Path) -> tuple[list[dict], list[int]]:
    """Parsed objects and the numbers of the lines that did not parse as a JSON object."""
    opener = gzip.open if path.suffix == ".gz" else open
    good, broken = [], []
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                obj = json.loads(line)
            except ValueError:
                broken.append(n)
                continue
            (good.append(obj) if isinstance(obj, dict) else broken.append(n))
    return good, broken


def by_terminal(events: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = collections.defaultdict(list)
    for e in events:
        out[e["tid"]].append(e)
    return out


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> tuple[list[dict], dict[str, str]]:
    out = tmp_path_factory.mktemp("blindfleet")
    generate(78, 2, seed=7, out=out)
    events, broken = read_log(out / "events.jsonl")
    assert broken == []
    return events, json.loads((out / "labels.json").read_text())


def test_every_line_is_event_log_v1(fleet):
    events, labels = fleet
    assert len(events) > 20_000
    bad = [(e, p) for e in events if (p := problems(e))]
    assert bad == []
    assert {e["type"] for e in events} == set(SCHEMA)
    assert {e["tid"] for e in events} == set(labels)


def test_each_terminal_is_in_time_order(fleet):
    for tid, rows in by_terminal(fleet[0]).items():
        stamps = [e["ts"] for e in rows]
        assert stamps == sorted(stamps), tid


def test_labels_are_the_documents_and_episodes_match_them(fleet):
    events, labels = fleet
    assert set(labels.values()) == {*LABELS, "none"}
    for tid, rows in by_terminal(events).items():
        n = len(episodes((e["type"], e) for e in rows))
        assert (n == 0) == (labels[tid] == "none"), (tid, labels[tid], n)


def _has(rows, type_, **want) -> bool:
    return any(e["type"] == type_ and all(
        (e.get(k) in v) if isinstance(v, tuple) else e.get(k) == v for k, v in want.items())
        for e in rows)


def _exits(rows) -> list[dict]:
    return [e for e in rows if e["type"] == "app" and e.get("reason") not in (None, "normal")]


WINDOW = dt.date.fromisoformat(catalog.WINDOW_START)
EVIDENCE = {
    "software_defect": lambda rows: any(
        e["app_version"] == catalog.BAD_VERSION and e["frames"][2].startswith(catalog.APP)
        for e in _exits(rows) if e.get("frames")),
    "compatibility": lambda rows: any(
        (inv["brand"], inv["model"], inv["firmware"]) in [c[:3] for c in catalog.INCOMPATIBLE]
        for inv in rows if inv["type"] == "inventory") and any(
        not e["frames"][0].startswith(catalog.APP) for e in _exits(rows) if e.get("frames")),
    "outdated_software": lambda rows: _has(rows, "app", app_version=tuple(catalog.OLD_VERSIONS)),
    "hardware_memory": lambda rows: any(
        e["mem_free_mb"] < 30 for e in rows if e["type"] == "health"),
    "hardware_overheat": lambda rows: any(
        e["cpu_temp_c"] > 75 for e in rows if e["type"] == "health"),
    "hardware_power": lambda rows: _has(rows, "app", reason="power_loss"),
    "hardware_printer": lambda rows: _has(rows, "health", printer=("jam", "head_fault")),
    "network": lambda rows: _has(rows, "txn", phase=("timeout", "conn_fail"))
    or _has(rows, "net", event=("down", "reset")),
    "parameter_mismatch": lambda rows: _has(rows, "params", event="mismatch"),
    "environment_interference": lambda rows: _has(rows, "app", reason="watchdog"),
    "operator_error": lambda rows: _has(rows, "card", error="wrong_method")
    or _has(rows, "pin", outcome="timeout"),
    "maintenance_overdue": lambda rows: any(
        e["last_maintenance"] and (WINDOW - dt.date.fromisoformat(e["last_maintenance"])).days
        > 180 for e in rows if e["type"] == "inventory"),
}


def test_each_cause_shows_the_evidence_the_document_names(fleet):
    events, labels = fleet
    for tid, rows in by_terminal(events).items():
        check = EVIDENCE.get(labels[tid])
        assert check is None or check(rows), (tid, labels[tid])


def test_untrained_operators_cause_the_training_gap_errors(fleet):
    """On a training_gap terminal with a new hire, the broken flows belong to an operator with
    no training record; on an operator_error terminal, to a trained one."""
    events, labels = fleet
    for tid, rows in by_terminal(events).items():
        if labels[tid] not in ("operator_error", "training_gap"):
            continue
        trained = {e["operator"] for e in rows if e["type"] == "training"}
        update = _has(rows, "maintenance", kind="software_update")
        who, op = collections.Counter(), None
        for i, e in enumerate(rows):
            if e["type"] == "operator":
                op = e["operator"] if e["event"] == "login" else None
            elif e["type"] == "screen" and e["screen"] == "idle" and op and episodes(
                    (r["type"], r) for r in rows[max(0, i - 12):i + 1]):
                who[op in trained] += 1
        if labels[tid] == "operator_error":
            assert who[True] >= 1, tid
        elif not update:
            assert who[False] >= who[True], (tid, who)


def test_a_fleet_of_300_has_every_label_a_dozen_times():
    counts = collections.Counter(s.label for s in build_fleet(300, 3, seed=1))
    assert 90 <= counts.pop("none") <= 150
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= 12


def test_a_seed_gives_the_same_bytes(tmp_path):
    runs = []
    for name, seed, jobs in (("a", 3, 1), ("b", 3, 2), ("c", 4, 1)):
        generate(18, 1, seed=seed, out=tmp_path / name, gz=True, messy=True, jobs=jobs)
        runs.append(((tmp_path / name / "events.jsonl.gz").read_bytes(),
                     (tmp_path / name / "labels.json").read_bytes()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_messy_output_is_damaged_only_in_the_documented_ways(tmp_path):
    generate(40, 2, seed=5, out=tmp_path, messy=True)
    events, broken = read_log(tmp_path / "events.jsonl")
    assert 0 < len(broken) < len(events) / 200
    known = [e for e in events if e.get("type") in SCHEMA]
    unknown = {e["type"] for e in events if e.get("type") not in SCHEMA}
    assert unknown and len(known) > 0.95 * len(events)
    assert [e for e in known if problems(e)] == []
    extra = {k for e in known for k in e} - {k for keys in SCHEMA.values() for k in keys} - {
        "ts", "tid", "type", "rc", "latency_ms", "reason", "exception", "frames", "field"}
    assert extra
    lines = [json.dumps(e, sort_keys=True) for e in events]
    assert len(set(lines)) < len(lines)  # some lines were written twice
    rows = by_terminal(known)
    assert any(not _has(r, "inventory") for r in rows.values())
    inversions = sum(a["ts"] > b["ts"] for r in rows.values() for a, b in itertools.pairwise(r))
    assert 0 < inversions < len(known) / 300


def test_command_line_writes_gzip_and_labels(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.blindfleet", "--terminals", "14", "--days", "1",
         "--seed", "2", "--out", str(tmp_path), "--gzip", "--jobs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    events, broken = read_log(tmp_path / "events.jsonl.gz")
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert broken == [] and {e["tid"] for e in events} == set(labels) and len(labels) == 14
