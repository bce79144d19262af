"""Conformance mode: the host withholds answers and corrupts MACs, then judges each terminal's next
moves. Our terminal passes; each deliberately broken terminal is flagged for the rule it breaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from steadypos.chaos.proxy import FaultProxy, Toxic
from steadypos.host import process
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv

DEMO = demo_data()
CARD = next(c for c in DEMO["cards"] if c["kind"] == "magstripe" and c["balance"] >= 100_000)


@dataclass
class ConformanceHost:
    proc: subprocess.Popen[bytes]
    port: int
    report: Path

    def stop(self) -> dict:
        assert process.stop(self.proc) == 0
        return json.loads(self.report.read_text())


def start_host(tmp: Path, withhold: float, corrupt: float) -> ConformanceHost:
    report = tmp / "conformance.json"
    proc, _, port = process.start(steadypos_argv(
        "host", "--db", str(tmp / "host.db"), "--port", "0", "--seed-demo", "--log-file",
        str(tmp / "host.log"), "--conformance-report", str(report), "--withhold-rate",
        str(withhold), "--corrupt-mac-rate", str(corrupt), "--seed", "3"))
    return ConformanceHost(proc, port, report)


@pytest.fixture
def withholding_host(tmp_path: Path) -> Iterator[ConformanceHost]:
    h = start_host(tmp_path, withhold=1.0, corrupt=0.0)
    yield h
    process.stop(h.proc, signal.SIGKILL)


def terminal(tmp: Path, port: int, *args: str, broken: str = "",
             crash_at: str = "") -> int:
    journal = tmp / "t.db"
    if not journal.exists():
        t = DEMO["terminals"][0]
        subprocess.run(steadypos_argv("terminal", "init", "--journal", str(journal), "--host",
                                      "127.0.0.1", "--port", str(port), "--tid", t["tid"],
                                      "--mid", t["mid"], "--tmk", t["tmk"], "--timeout", "1"),
                       check=True, capture_output=True)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYPOS_")}
    bench = [*(["--behave", broken] if broken else []),
             *(["--crash-at", crash_at] if crash_at else [])]
    argv = steadypos_argv("terminal", *bench, *args, "--journal", str(journal), "--json")
    return subprocess.run(argv, capture_output=True, text=True, env=run_env,
                          timeout=60).returncode


def sale(tmp: Path, port: int, amount: str, **kw: object) -> int:
    return terminal(tmp, port, "sale", "--amount", amount, "--track2", CARD["track2"], "--pin",
                    CARD["pin"], **kw)  # type: ignore[arg-type]


def rules_broken(report: dict) -> set[str]:
    return {v["rule"] for t in report["terminals"].values() for v in t["violations"]}


def test_our_terminal_passes_withheld_answers_and_corrupted_macs(tmp_path: Path) -> None:
    host = start_host(tmp_path, withhold=0.4, corrupt=0.4)
    codes = [sale(tmp_path, host.port, f"1.{i:02d}") for i in range(8)]
    assert terminal(tmp_path, host.port, "recover") == 0
    report = host.stop()
    assert 3 in codes  # the host did provoke: some sales ended with a reversal pending
    tid = DEMO["terminals"][0]["tid"]
    assert report["terminals"][tid]["checked"] >= 8
    assert report["terminals"][tid]["violations"] == []
    summary = Path(f"{host.report}.txt").read_text()
    assert f"{tid}: " in summary and "PASS" in summary


def test_sale_before_reversal_is_flagged(tmp_path: Path, withholding_host: ConformanceHost) -> None:
    port = withholding_host.port
    assert sale(tmp_path, port, "2.00", broken="sale_before_reversal") == 3
    sale(tmp_path, port, "3.00", broken="sale_before_reversal")
    assert "reversal_first" in rules_broken(withholding_host.stop())


def test_store_after_send_is_flagged(tmp_path: Path, withholding_host: ConformanceHost) -> None:
    port = withholding_host.port
    # Killed between sending and storing its record: nothing on the terminal will reverse it.
    code = sale(tmp_path, port, "2.00", broken="store_after_send",
                crash_at="reversal_stored")
    assert code == -signal.SIGKILL
    sale(tmp_path, port, "3.00", broken="store_after_send")
    assert "reversal_first" in rules_broken(withholding_host.stop())


def test_our_terminal_killed_at_the_same_step_passes(tmp_path: Path,
                                                     withholding_host: ConformanceHost) -> None:
    port = withholding_host.port
    assert sale(tmp_path, port, "2.00", crash_at="reversal_stored") == -signal.SIGKILL
    sale(tmp_path, port, "3.00")
    assert terminal(tmp_path, port, "recover") == 0
    assert rules_broken(withholding_host.stop()) == set()


@pytest.mark.parametrize("broken", ["drop_after_three", ""])
def test_dropping_a_reversal_after_three_attempts_is_flagged(
        tmp_path: Path, withholding_host: ConformanceHost, broken: str) -> None:
    with FaultProxy(upstream=("127.0.0.1", withholding_host.port), seed=1) as proxy:
        assert sale(tmp_path, proxy.port, "2.00", broken=broken) == 3
        # Every reversal vanishes on the way: three attempts go unanswered.
        proxy.add(Toxic("black_hole", direction="upstream", count=3, name="lost"))
        code = sale(tmp_path, proxy.port, "3.00", broken=broken)
        proxy.clear()
        if not broken:
            assert code == 4  # ours refuses to trade on, and says so
            assert terminal(tmp_path, proxy.port, "recover") == 0
    found = rules_broken(withholding_host.stop())
    assert ("reversal_first" in found) == bool(broken)


def _init(journal: Path, port: int, index: int, mac: str) -> None:
    t = DEMO["terminals"][index]
    subprocess.run(steadypos_argv("terminal", "init", "--journal", str(journal), "--host",
                                  "127.0.0.1", "--port", str(port), "--tid", t["tid"], "--mid",
                                  t["mid"], "--tmk", t["tmk"], "--mac", mac, "--timeout", "2"),
                   check=True, capture_output=True)


def _sale(journal: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYPOS_")}
    return subprocess.run(steadypos_argv("terminal", "sale", "--journal", str(journal), "--json",
                                         "--amount", "1.00", "--track2", CARD["track2"], "--pin",
                                         CARD["pin"]),
                          capture_output=True, text=True, env=env, timeout=60).returncode


def test_the_report_says_a_legacy_terminals_mac_is_weak(tmp_path: Path) -> None:
    """1.1 §4: a pos_ecb terminal is served (registered as legacy) and the report says its MAC
    is weak; a terminal that MACs with the other algorithm than its registration breaks `mac`."""
    host = start_host(tmp_path, withhold=0.0, corrupt=0.0)
    legacy, modern, wrong = DEMO["terminals"][3], DEMO["terminals"][0], DEMO["terminals"][2]
    _init(tmp_path / "legacy.db", host.port, 3, "pos_ecb")
    _init(tmp_path / "modern.db", host.port, 0, "x919")
    _init(tmp_path / "wrong.db", host.port, 2, "pos_ecb")  # registered x919
    assert _sale(tmp_path / "legacy.db") == 0
    assert _sale(tmp_path / "modern.db") == 0
    assert _sale(tmp_path / "wrong.db") == 1  # A0: refused, nothing charged
    report = host.stop()["terminals"]
    assert report[legacy["tid"]]["mac"] == "pos_ecb" and report[legacy["tid"]]["weak_mac"]
    assert report[legacy["tid"]]["violations"] == []
    assert report[modern["tid"]]["mac"] == "x919" and not report[modern["tid"]]["weak_mac"]
    assert {v["rule"] for v in report[wrong["tid"]]["violations"]} == {"mac"}
    summary = Path(f"{host.report}.txt").read_text()
    lines = summary.splitlines()
    weak = [i for i, line in enumerate(lines) if "WEAK" in line]
    assert len(weak) == 1 and "pos_ecb" in lines[weak[0]]
    assert lines[weak[0] - 1].startswith(f"  {legacy['tid']}: ")  # said of that terminal
