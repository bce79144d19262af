"""`steadypos diagnose` from the outside: exit codes, files, stdin, refusals, pipes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from support.fleet import simulate
from typer.testing import CliRunner

from steadypos.cli import app

runner = CliRunner()


def test_simulate_then_diagnose_writes_json_and_html(tmp_path: Path) -> None:
    events, labels = simulate(tmp_path)
    truth = json.loads(labels.read_text())
    assert sorted(truth) == [f"T{n:05d}" for n in range(1, 13)]
    with gzip.open(events, "rt") as fh:
        first = json.loads(fh.readline())
    assert set(first) >= {"ts", "tid", "type"}
    out_json, out_html = tmp_path / "d.json", tmp_path / "d.html"
    res = runner.invoke(
        app, ["diagnose", str(events), "--json", str(out_json), "--html", str(out_html)]
    )
    assert res.exit_code == 0, res.output
    assert "Causes by count" in res.output
    doc = json.loads(out_json.read_text())
    assert {t["tid"] for t in doc["terminals"]} == set(truth)
    assert out_html.read_text().startswith("<!DOCTYPE html>")


def test_bad_usage_exits_2_with_one_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["diagnose", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 2
    assert "no such file or folder" in res.output
    assert "Traceback" not in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["diagnose", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no log files found" in res.output
    res = runner.invoke(app, ["diagnose"])
    assert res.exit_code == 2


def test_stdin_and_malformed_lines_reported(tmp_path: Path) -> None:
    events, _ = simulate(tmp_path)
    data = gzip.decompress(events.read_bytes()) + b"not json at all\n"
    n_lines = data.count(b"\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from steadypos.cli import main; main()", "diagnose", "-",
         "--json", "-"],
        input=data, capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["fleet"]["input"]["sources"] == ["<stdin>"]
    assert doc["fleet"]["input"]["malformed_lines"] == [
        {"source": "<stdin>", "line": n_lines, "reason": "not JSON"}
    ]
    assert f"<stdin>:{n_lines} (not JSON)" in proc.stderr.decode()
    # gzip on stdin too
    proc = subprocess.run(
        [sys.executable, "-c", "from steadypos.cli import main; main()", "diagnose", "-",
         "--json", "-"],
        input=events.read_bytes(), capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["fleet"]["input"]["malformed"] == 0
