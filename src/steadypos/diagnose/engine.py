"""The diagnosis pipeline: stream the log through the per-terminal state machines, then judge
each terminal against the fleet."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from steadypos.diagnose.episodes import Episode, Terminal, Tracker
from steadypos.diagnose.fleet import FleetContext, build_context
from steadypos.diagnose.reader import ReadStats, read_events
from steadypos.diagnose.scoring import (
    TerminalResult,
    diagnose_terminals,
    label_noise_episodes,
    relabel_groups,
)


@dataclass
class Diagnosis:
    stats: ReadStats
    terminals: list[Terminal]
    results: list[TerminalResult]
    ctx: FleetContext

    @property
    def episodes(self) -> list[Episode]:
        return [ep for term in self.terminals for ep in term.episodes]

    def labels(self) -> dict[str, str]:
        return {r.tid: r.cause for r in self.results}


def diagnose(sources: Iterable[str], progress: Callable[[int], None] | None = None) -> Diagnosis:
    """Read every source (already expanded: files or '-') and diagnose the fleet."""
    stats = ReadStats()
    tracker = Tracker()
    feed = tracker.feed
    for t, ev in read_events(sources, stats, progress):
        feed(t, ev)
    stats.bad_values = tracker.bad_values
    terms = tracker.finish()
    ctx = build_context(terms)
    results = diagnose_terminals(terms, ctx)
    label_noise_episodes(terms, results, ctx)
    relabel_groups(terms, ctx)
    return Diagnosis(stats, terms, results, ctx)
