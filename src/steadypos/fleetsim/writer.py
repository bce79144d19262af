"""The simulated fleet as one event log v1 (tidy: merged in time order; messy: interleaved and
damaged as real collectors deliver logs) and its ground truth."""

from __future__ import annotations

import gzip
import heapq
import json
import random
from collections.abc import Callable, Iterator
from typing import IO

from steadypos.clock import parse_utc
from steadypos.diagnose.taxonomy import NONE
from steadypos.eventlog import EventType
from steadypos.fleetsim.catalog import START
from steadypos.fleetsim.day import terminal_events
from steadypos.fleetsim.plan import Fleet, plan_fleet

FLUSH_EVERY = 5000  # messy: a collector hands on what it holds every this many lines


def simulate(terminals: int, days: int, seed: int) -> tuple[Fleet, Iterator[dict]]:
    """The fleet plan and an iterator over its events, merged in time order across terminals."""
    fleet = plan_fleet(terminals, days, seed)
    streams = [terminal_events(p, fleet, seed) for p in fleet.plans]
    merged = heapq.merge(*streams, key=lambda e: e[0])
    return fleet, (ev for _, _, ev in merged)


def ground_truth(fleet: Fleet) -> dict[str, str]:
    """{tid: label}; a faulty terminal whose fault caused no flash-exit is `none` (no episode)."""
    return {p.tid: (p.label if p.fault_episodes else NONE) for p in fleet.plans}


def messy(events: Iterator[dict], seed: int) -> Iterator[str]:
    """Real-world untidiness: terminals interleaved out of time order, inventory lines dropped,
    unknown keys and types, timestamps without millis, the odd truncated line."""
    rng = random.Random(f"messy:{seed}")
    pending: dict[str, list[str]] = {}
    count = 0
    for ev in events:
        if ev["type"] == EventType.INVENTORY and rng.random() < 0.3:
            continue
        if rng.random() < 0.05:
            ev["x_build"] = rng.randint(1, 999)
        if rng.random() < 0.5:
            ts = str(ev["ts"])
            ev["ts"] = ts[:19] + "Z"
        line = json.dumps(ev, separators=(",", ":"))
        if rng.random() < 0.00005:
            line = line[: len(line) // 2]
        pending.setdefault(str(ev["tid"]), []).append(line)
        count += 1
        if rng.random() < 0.001:
            pending.setdefault(str(ev["tid"]), []).append(
                json.dumps({"ts": ev["ts"], "tid": ev["tid"], "type": "gps", "lat": 31.2})
            )
        if count % FLUSH_EVERY == 0:
            yield from _flush(pending, rng)
    yield from _flush(pending, rng)


def _flush(pending: dict[str, list[str]], rng: random.Random) -> Iterator[str]:
    tids = list(pending)
    rng.shuffle(tids)
    for tid in tids:
        yield from pending[tid]
    pending.clear()


def write_fleet(
    terminals: int, days: int, seed: int, out: IO[str], untidy: bool = False,
    progress: Callable[[float], None] | None = None,
) -> dict[str, str]:
    """Write the fleet's event log to `out` (text) and return the ground truth; `progress`
    hears how many simulated days are written so far."""
    fleet, events = simulate(terminals, days, seed)
    if progress is not None:
        events = _reporting(events, progress)
    write = out.write
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    lines = messy(events, seed) if untidy else (dumps(ev) for ev in events)
    for line in lines:
        write(line)
        write("\n")
    return ground_truth(fleet)


def _reporting(events: Iterator[dict], report: Callable[[float], None]) -> Iterator[dict]:
    """The events unchanged; every 4096th tells `report` how many days (from START) are done."""
    for n, ev in enumerate(events, 1):
        if n % 4096 == 0:
            at = parse_utc(ev["ts"])
            report((at - START).total_seconds() / 86400)
        yield ev


def open_out(path: str) -> IO[str]:
    """A text file to write a log to (gzip when the name ends in .gz)."""
    if path.endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=3)
    return open(path, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
