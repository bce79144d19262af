"""The diagnosis pipeline: stream the log through the per-terminal state machines, then judge
each terminal against the fleet."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from steadypos.diagnose.fleet import FleetContext, build_context
from steadypos.diagnose.reader import ReadStats, Source, read_events
from steadypos.diagnose.software import GroupCause
from steadypos.diagnose.tracker import TerminalRecord, Tracker
from steadypos.diagnose.verdicts import EpisodeVerdict, TerminalVerdict, judge


@dataclass
class Diagnosis:
    stats: ReadStats
    terminals: list[TerminalRecord]
    results: list[TerminalVerdict]
    episodes: list[EpisodeVerdict]
    groups: dict[str, GroupCause]  # crash group fingerprint -> its cause
    ctx: FleetContext

    def labels(self) -> dict[str, str]:
        return {r.tid: r.cause for r in self.results}

    @property
    def undecided(self) -> list[TerminalVerdict]:
        """Terminals whose verdict is unsure (low confidence): listed in the fleet summary."""
        return [r for r in self.results if r.undecided]


def track(sources: Iterable[Source | str], progress: Callable[[int], None] | None = None,
          ) -> tuple[ReadStats, list[TerminalRecord]]:  # fmt: skip
    """Stream the sources through the terminals' state machines."""
    stats = ReadStats()
    tracker = Tracker()
    named = [s if isinstance(s, Source) else Source(s, True) for s in sources]
    read_events(named, stats, tracker.feed, progress, tracker.damaged)
    terms = tracker.finish()
    stats.bad_values = tracker.bad_values
    stats.duplicates = tracker.duplicates
    return stats, terms


def judge_fleet(stats: ReadStats, terms: list[TerminalRecord]) -> Diagnosis:
    """Judge each terminal against the fleet they make up."""
    ctx = build_context(terms)
    v = judge(terms, ctx)
    return Diagnosis(stats, terms, v.terminals, v.episodes, v.groups, ctx)


def diagnose(sources: Iterable[Source | str],
             progress: Callable[[int], None] | None = None) -> Diagnosis:  # fmt: skip
    """Read every source (from expand_paths, or paths of files: each one must be an event log)
    and diagnose the fleet."""
    return judge_fleet(*track(sources, progress))
