"""A chaos campaign: N seeded schedules, each run and checked; the figures and every violation with
the seed that replays it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from steadypos.chaos import schedule as schedules
from steadypos.chaos.sim import RunResult
from steadypos.terminal.flows import Terminal

Runner = Callable[[schedules.Schedule, type[Terminal]], RunResult]


@dataclass
class Campaign:
    runs: int = 0
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    violations: list[dict[str, Any]] = field(default_factory=list)
    failed: list[RunResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "seconds": round(self.seconds, 3),
                "faults": dict(sorted(self.faults.items())), "violations": self.violations}

    @property
    def per_minute(self) -> float:
        return self.runs / self.seconds * 60 if self.seconds else 0.0


def seeds(first: int, runs: int) -> Iterator[int]:
    """Run i uses seed first + i: any failing run replays from its own seed alone."""
    return iter(range(first, first + runs))


def run_campaign(runner: Runner, first_seed: int, runs: int, faults: tuple[str, ...],
                 terminal_cls: type[Terminal] = Terminal,
                 progress: Callable[[RunResult], None] | None = None) -> Campaign:
    out = Campaign()
    started = time.monotonic()
    for seed in seeds(first_seed, runs):
        sched = schedules.make(seed, faults)
        result = runner(sched, terminal_cls)
        out.runs += 1
        out.faults.update(sched.faults())
        for v in result.violations:
            out.violations.append({"seed": seed, "invariant": v.invariant, "detail": v.detail})
        if result.violations:
            out.failed.append(result)
        if progress is not None:
            progress(result)
    out.seconds = time.monotonic() - started
    return out
