"""A small simulated fleet, diagnosed: macro-F1 over the labels present (fast version of
benchmarks/diagnose_accuracy.py), on a tidy log and on a messy one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from steadypos.diagnose.engine import diagnose
from steadypos.diagnose.metrics import score
from steadypos.fleetsim.writer import write_fleet


@pytest.mark.parametrize(("seed", "messy"), [(9001, False), (9002, True)])
def test_small_fleet_accuracy(tmp_path: Path, seed: int, messy: bool) -> None:
    path = tmp_path / "fleet.jsonl"
    buf = io.StringIO()
    truth = write_fleet(130, 3, seed, buf, untidy=messy)
    path.write_text(buf.getvalue())
    d = diagnose([str(path)])
    assert len(d.results) == 130
    report = score(truth, d.labels())
    assert report.macro_f1 >= 0.85, report.table()
    assert len(report.present) >= 13
