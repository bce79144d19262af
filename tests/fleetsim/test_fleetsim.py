"""`steadypos simulate-fleet`: same seed, same bytes; ground truth from the faults that showed;
bad usage is one line and exit 2."""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from pathlib import Path

from support.fleet import simulate
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.diagnose.taxonomy import ALL_LABELS
from steadypos.eventlog import KEYS, EventType
from steadypos.fleetsim.writer import write_fleet

runner = CliRunner()


def test_simulator_is_deterministic_per_seed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, _ = simulate(tmp_path / "a")
    b, _ = simulate(tmp_path / "b")
    assert gzip.decompress(a.read_bytes()) == gzip.decompress(b.read_bytes())


def test_every_line_is_event_log_v1_and_every_label_shows() -> None:
    buf = io.StringIO()
    truth = write_fleet(40, 1, 5, buf)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert {e["tid"] for e in lines} == set(truth)
    for e in lines:
        kind = EventType(e["type"])
        assert set(e) - {"ts", "tid", "type"} <= set(KEYS[kind]), e
        assert e["ts"].endswith("Z") and len(e["ts"]) == 24
    counts = Counter(truth.values())
    assert set(counts) <= set(ALL_LABELS)
    assert counts["none"] < 40


def test_bad_usage_exits_2_with_one_line(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["simulate-fleet", "--terminals", "0", "--days", "1", "--out", "x", "--labels", "y"]
    )
    assert res.exit_code == 2
    res = runner.invoke(
        app,
        ["simulate-fleet", "--terminals", "2", "--days", "1",
         "--out", str(tmp_path / "no" / "x.jsonl"), "--labels", str(tmp_path / "l.json")],
    )  # fmt: skip
    assert res.exit_code == 2 and "folder does not exist" in res.output
