"""A small simulated fleet written through the CLI, for the tests of the simulator and of the
diagnosis that reads it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from steadypos.cli import app


def simulate(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    """`simulate-fleet` of 12 terminals for 1 day (seed 3): the events file and the labels."""
    events, labels = tmp_path / "ev.jsonl.gz", tmp_path / "labels.json"
    res = CliRunner().invoke(
        app,
        ["simulate-fleet", "--terminals", "12", "--days", "1", "--seed", "3",
         "--out", str(events), "--labels", str(labels), *extra],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return events, labels
