"""Chaos campaigns, bounded: the simulation's figures, each broken terminal caught and replayed from
its seed, determinism, a short campaign with real processes, and bad options."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steadypos.chaos import real, schedule, sim
from steadypos.chaos.broken import BROKEN
from steadypos.chaos.invariants import Violation, wire_violations
from steadypos.chaos.schedule import Op, Schedule
from steadypos.cli import app
from steadypos.host.process import steadypos_argv

runner = CliRunner()
WIDE = {"COLUMNS": "400"}  # so that rich does not wrap a violation's details
SEEDS_TO_CATCH = 400


def chaos(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["chaos", *args], env=WIDE)
    return res.exit_code, res.output


@cache
def first_violation(name: str) -> sim.RunResult | None:
    """The first seed whose schedule the broken terminal `name` fails in the simulation."""
    for seed in range(1, SEEDS_TO_CATCH + 1):
        result = sim.run(schedule.make(seed), BROKEN[name])
        if result.violations:
            return result
    return None


def test_sim_campaign_draws_every_fault_and_holds_every_invariant(tmp_path: Path) -> None:
    out = tmp_path / "sim.json"
    code, text = chaos("--sim", "--runs", "200", "--seed", "1", "--json", str(out))
    assert code == 0, text
    data = json.loads(out.read_text())
    assert set(data) == {"runs", "seconds", "faults", "violations"}
    assert data["runs"] == 200 and data["seconds"] > 0
    assert data["violations"] == []
    assert set(data["faults"]) == set(schedule.FAULTS)
    assert all(isinstance(n, int) and n > 0 for n in data["faults"].values())


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_terminal_is_caught_and_replays_from_its_seed(name: str) -> None:
    caught = first_violation(name)
    assert caught is not None, f"{name} passed {SEEDS_TO_CATCH} seeds"
    seed = str(caught.seed)
    code, text = chaos("--replay", seed, "--sim", "--terminal", name)
    assert code == 1, text
    flat = " ".join(text.split())
    for v in caught.violations:
        assert f"{v.invariant}: {' '.join(v.detail.split())}" in flat
    shown = set(re.findall(r"^\s+([a-i]_\w+): ", text, re.M))
    assert shown == {v.invariant for v in caught.violations}
    code, text = chaos("--replay", seed, "--sim")
    assert code == 0, text
    assert f"seed {seed}: every invariant held" in text


def test_the_simulation_is_deterministic() -> None:
    caught = first_violation("drop_after_three")
    assert caught is not None
    cases = [(seed, sim.Terminal) for seed in (1, 2, 3, 42)]
    cases.append((caught.seed, BROKEN["drop_after_three"]))
    for seed, cls in cases:
        one, two = (sim.run(schedule.make(seed), cls) for _ in range(2))
        assert one.trace and one.trace == two.trace
        assert one.violations == two.violations
    assert caught.violations


def test_short_campaign_with_real_processes(tmp_path: Path) -> None:
    out = tmp_path / "real.json"
    code, text = chaos("--runs", "3", "--seed", "7", "--json", str(out))
    assert code == 0, text
    data = json.loads(out.read_text())
    assert data["runs"] == 3 and data["violations"] == []
    assert sum(data["faults"].values()) > 0


def test_unknown_fault_kind_is_a_usage_error() -> None:
    proc = subprocess.run(steadypos_argv("chaos", "--sim", "--faults", "latency,bogus"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown fault kind(s) bogus")


def test_real_processes_are_attacked_too() -> None:
    """With real processes the outsider sends a stranger's sign-out and settlement (one MAC'd with
    a key of its own) and forgeries of a captured sale straight to the host: each is refused, the
    terminal trades on, and every invariant holds (the host's conformance report does not count
    the outsider's frames as the terminal's)."""
    from steadypos.chaos.commands import _kinds

    assert set(_kinds(None)) == set(schedule.FAULTS)
    ops = [Op(term=0, action="sale", card=n, amount=1000 + n, pin_ok=True, fault=fault, roll=roll)
           for n, (fault, roll) in enumerate([(None, 0), ("stranger_admin", 1),
                                              ("stranger_admin", 2 + 4), ("forged_frame", 16),
                                              (None, 0)])]
    result = real.run(Schedule(9, tuple(ops)))
    assert result.violations == [], result.trace
    answers = [line.split(" -> ")[1] for line in result.trace if " -> " in line]
    assert [a.split()[0] for a in answers[:2]] == ["0830", "0510"], result.trace
    forged = [line for line in result.trace if line.lstrip().startswith("forged_frame 0200")]
    assert forged and all(line.endswith("rc=A0") for line in forged), result.trace
    assert all(a.endswith(("rc=A0", "rc=97", "rc=03")) for a in answers), result.trace


def test_a_failing_real_run_leaves_no_process_thread_or_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fail(self: real.RealRun, *args: object) -> None:
        assert self.host.proc is not None
        seen.update(pid=self.host.proc.pid, root=self.root)
        raise RuntimeError("the run fails halfway")

    monkeypatch.setattr(real.RealRun, "_act", fail)
    with pytest.raises(RuntimeError, match="halfway"):
        real.RealRun(schedule.make(7), root=tmp_path).run()
    assert not Path(str(seen["root"])).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(int(str(seen["pid"])), 0)
    assert not [t for t in threading.enumerate() if t.name.startswith("fault-proxy")]


def test_a_conformance_report_becomes_wire_violations() -> None:
    report = {"terminals": {"T0000001": {"checked": 3, "violations": [
        {"rule": "mac", "stan": "000002", "detail": "0200 STAN 000002: no MAC"}]},
        "T0000003": {"checked": 1, "violations": []}}}
    assert wire_violations(report) == [
        Violation("g_wire_mac", "T0000001 STAN 000002: 0200 STAN 000002: no MAC")]
