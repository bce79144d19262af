"""`--workers K` over logs that each hold their own terminals (the TMS keeps one upload per
terminal): whole files, in shares, to the workers, read as one process reads them, no line routed.

Chosen when the first 16 KiB of the files share no terminal; afterwards the shares' terminals,
and the terminals their torn lines name, are checked to be apart (else the caller routes lines
instead, workers.py), so each terminal's events were read in the one order one process reads
them. Counts, samples, skipped and unreadable files are put back in the order of the files."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from steadypos.diagnose.reader import (
    MAX_SAMPLES,
    NotAnEventLog,
    ReadStats,
    Source,
    open_source,
    read_events,
)
from steadypos.diagnose.routing import tids_in
from steadypos.diagnose.tracker import TerminalRecord, Tracker

HEAD_BYTES = 1 << 14  # of each file (about 150 lines), looked at for its terminals first
JOBS_PER_WORKER = 8  # shares handed out as workers free up: the last one ends soon after the rest,
# and each share's terminals come back while the others are still being read


def quiet() -> None:
    """In a worker: Ctrl-C is the parent's to handle, not a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class FileRead:
    """One file as its worker read it: its own counts, or why it was refused."""

    index: int
    stats: ReadStats
    refused: str = ""


@dataclass
class FilePart:
    outcomes: list[FileRead]
    terms: list[TerminalRecord]
    torn: set[str] = field(default_factory=set)  # terminals named by torn lines
    bad_values: int = 0
    duplicates: int = 0


def _head_tids(src: Source) -> set[str]:
    try:
        fh, _ = open_source(src.path)
        with fh:
            return tids_in(fh.read(HEAD_BYTES))
    except (OSError, EOFError, gzip.BadGzipFile):
        return set()


def plan(sources: list[Source], workers: int) -> list[list[tuple[int, Source]]] | None:
    """Shares of the files, JOBS_PER_WORKER a worker, of about the same size (the biggest file
    first, to the least loaded share), or None when they do not look like files of their own
    terminals."""
    if len(sources) < 2 or any(s.path == "-" for s in sources):
        return None
    seen: set[str] = set()
    for src in sources:
        tids = _head_tids(src)
        if not seen.isdisjoint(tids):
            return None
        seen |= tids
    shares = min(workers * JOBS_PER_WORKER, len(sources))
    jobs: list[list[tuple[int, Source]]] = [[] for _ in range(shares)]
    load = [0] * len(jobs)
    by_size = sorted(range(len(sources)), key=lambda i: -_size(sources[i]))
    for i in by_size:
        k = load.index(min(load))
        jobs[k].append((i, sources[i]))
        load[k] += _size(sources[i]) + 1
    return [sorted(job) for job in jobs]


def _size(src: Source) -> int:
    try:
        return os.path.getsize(src.path)
    except OSError:
        return 0


def read_files(job: list[tuple[int, Source]]) -> FilePart:
    """A worker: its files in their order, through one tracker."""
    tracker = Tracker()
    part = FilePart([], [])

    def damaged(tid: str, t: float | None) -> None:
        part.torn.add(tid)
        tracker.damaged(tid, t)

    for index, src in job:
        stats = ReadStats()
        try:
            read_events([src], stats, tracker.feed, None, damaged)
        except NotAnEventLog as exc:
            part.outcomes.append(FileRead(index, stats, str(exc)))
            break
        part.outcomes.append(FileRead(index, stats))
    part.terms = tracker.finish()
    part.bad_values, part.duplicates = tracker.bad_values, tracker.duplicates
    return part


def _read_share(share: tuple[int, list[tuple[int, Source]]]) -> tuple[int, FilePart]:
    k, job = share
    return k, read_files(job)


def run(jobs: list[list[tuple[int, Source]]], workers: int,
        progress: Callable[[int], None] | None = None,
        ) -> tuple[ReadStats, list[TerminalRecord]] | None:  # fmt: skip
    """Read the shares on `workers` processes; the fleet's counts and terminals, or None when the
    shares' terminals turned out not to be apart (raises NotAnEventLog as one process would).
    `progress(bytes)`: the on-disk bytes of the shares read so far, as each one is."""
    parts: list[FilePart] = [FilePart([], [])] * len(jobs)
    done = 0
    # multiprocessing's Pool, not concurrent.futures': on the way out, Ctrl-C included, it stops
    # its workers at once instead of reading the shares still queued
    with multiprocessing.get_context().Pool(min(workers, len(jobs)), quiet) as pool:
        for k, part in pool.imap_unordered(_read_share, enumerate(jobs)):
            parts[k] = part
            done += sum(_size(src) for _, src in jobs[k])
            if progress is not None:
                progress(done)
    outcomes = sorted((o for p in parts for o in p.outcomes), key=lambda o: o.index)
    refused = [o for o in outcomes if o.refused]
    if refused:
        raise NotAnEventLog(refused[0].refused)
    owner: dict[str, int] = {}  # terminal -> its share
    for k, p in enumerate(parts):
        if any(owner.setdefault(t.tid, k) != k for t in p.terms):
            return None
    if any(owner.get(tid, k) != k for k, p in enumerate(parts) for tid in p.torn):
        return None
    stats = ReadStats()
    for o in outcomes:
        s = o.stats
        for m in s.samples:
            if m.line > s.lines:  # "unreadable from here on": numbered across the files read
                m.line += stats.lines
        stats.sources += s.sources
        stats.unreadable += s.unreadable
        stats.skipped += s.skipped
        stats.lines += s.lines
        stats.events += s.events
        stats.blank += s.blank
        stats.malformed += s.malformed
        stats.samples += s.samples
    del stats.samples[MAX_SAMPLES:]
    stats.bad_values = sum(p.bad_values for p in parts)
    stats.duplicates = sum(p.duplicates for p in parts)
    return stats, sorted((t for p in parts for t in p.terms), key=lambda t: t.tid)
