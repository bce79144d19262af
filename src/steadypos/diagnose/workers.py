"""`--workers K`: the fleet split by terminal across K processes. Each one reads every source but
parses only the lines of its own terminals (a terminal's id hashed from the raw line), runs their
state machines, and hands back the terminals; the fleet is then judged as one."""

from __future__ import annotations

import re
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from steadypos.diagnose.engine import Diagnosis, judge_fleet, track
from steadypos.diagnose.reader import MAX_SAMPLES, ReadStats, Source
from steadypos.diagnose.tracker import TerminalRecord

_TID = re.compile(rb'"tid"\s*:\s*"?([^",}\s]*)')


@dataclass(frozen=True)
class Share:
    """Lines whose terminal hashes to `part` of `parts`; lines without a tid go to part 0."""

    part: int
    parts: int

    def __call__(self, raw: bytes) -> bool:
        i = raw.find(b'"tid":"')
        if i >= 0:
            tid = raw[i + 7 : raw.find(b'"', i + 7)]
        else:
            found = _TID.search(raw)
            if found is None:
                return self.part == 0
            tid = found.group(1)
        return zlib.crc32(tid) % self.parts == self.part


def _work(job: tuple[list[Source], Share]) -> tuple[ReadStats, list[TerminalRecord]]:
    sources, share = job
    return track(sources, keep=share)


def _merge(parts: list[ReadStats]) -> ReadStats:
    """One ReadStats from the workers': every worker saw every line; each counted its own."""
    first = parts[0]
    stats = ReadStats(list(first.sources), first.lines, blank=first.blank,
                      unreadable=list(first.unreadable), skipped=list(first.skipped))
    order = {name: i for i, name in enumerate(first.sources)}
    for p in parts:
        stats.events += p.events
        stats.malformed += p.malformed
        stats.bad_values += p.bad_values
        stats.duplicates += p.duplicates
        stats.samples.extend(p.samples)
    stats.samples.sort(key=lambda m: (order.get(m.source, 0), m.line))
    del stats.samples[MAX_SAMPLES:]
    return stats


def diagnose_parallel(sources: list[Source], workers: int) -> Diagnosis:
    """The same diagnosis as engine.diagnose, with the reading split over `workers` processes
    (stdin cannot be read by several: it is read by one)."""
    if any(s.path == "-" for s in sources):
        workers = 1
    jobs = [(sources, Share(k, workers)) for k in range(workers)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_work, jobs))
    terms = sorted((t for _, ts in results for t in ts), key=lambda t: t.tid)
    return judge_fleet(_merge([s for s, _ in results]), terms)
