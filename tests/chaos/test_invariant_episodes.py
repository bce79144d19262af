"""Invariant (f): every crash or abandoned flow is an episode of the terminal's own event log,
with a cause. A terminal that keeps its screens out of the log is caught; ours is not."""

from __future__ import annotations

from pathlib import Path

from steadypos.chaos import schedule, sim
from steadypos.terminal.flows import Terminal

# Faults that crash a terminal or make it abandon a flow, and nothing else.
FLOW_FAULTS = ("kill_terminal", "printer_jam", "card_read_error", "drop_response")


class ScreenlessTerminal(Terminal):
    """Logs everything but its screens: its flash-exits cannot be seen in its log."""

    @classmethod
    def open(cls, journal_path: Path, **kw: object) -> Terminal:  # type: ignore[override]
        term = super().open(journal_path, **kw)  # type: ignore[arg-type]
        term.events.screen = lambda name: None  # type: ignore[method-assign]
        return term


def _violations(terminal_cls: type[Terminal], seeds: range) -> dict[int, set[str]]:
    out = {}
    for seed in seeds:
        found = sim.run(schedule.make(seed, FLOW_FAULTS, fault_rate=0.8), terminal_cls)
        out[seed] = {v.invariant for v in found.violations}
    return out


def test_our_terminal_logs_every_crash_and_abandoned_flow_as_an_episode() -> None:
    assert all(not v for v in _violations(Terminal, range(40)).values())


def test_a_terminal_that_hides_its_flows_is_caught() -> None:
    caught = [s for s, v in _violations(ScreenlessTerminal, range(40)).items()
              if "f_episode_logged" in v]
    assert len(caught) >= 10
