"""`--workers K`: the fleet split by terminal across K processes.

Files that each hold terminals of their own go to the workers whole (byfile.py). Otherwise the
parent reads every source once, with the same refusals and in the same lines as one process
would (reader.read_sources), and sends each worker, a batch at a time, the raw lines of its own
terminals: a line's terminal is found with a bytes search (routing.py), not a JSON parse. Each
worker parses and tracks only its lines and hands back its terminals and counts; the fleet is then
judged as one. Every line goes to exactly one worker, so each is counted and reported once, and
the parent reads once (a .gz is inflated once; stdin can be split too)."""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.context
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import compress, islice
from multiprocessing.connection import Connection

from steadypos.diagnose import byfile

try:
    import fcntl
except ImportError:  # not on Linux: pipes keep their size
    fcntl = None  # type: ignore[assignment]
from steadypos.diagnose.engine import Diagnosis, judge_fleet
from steadypos.diagnose.reader import MAX_SAMPLES, ReadStats, Source, read_lines, read_sources
from steadypos.diagnose.routing import Router, masks
from steadypos.diagnose.tracker import TerminalRecord, Tracker

BATCH_LINES = 4096  # lines read and routed at a time (about 440 KB of log)
PIPE_BYTES = 1 << 20  # each worker's pipe (Linux allows an unprivileged process 1 MiB)
_SOURCE, _LINES = 0, 1  # the kinds of message a worker is sent (None: the end)


@dataclass
class Part:
    """What one worker hands back: its counts, where its samples are in the whole reading order
    (the line's number across all sources), and its terminals."""

    stats: ReadStats
    order: list[int]
    terms: list[TerminalRecord] = field(default_factory=list)


def _renumber(stats: ReadStats, first: int, base: int, owners: bytes, part: int) -> None:
    """Samples from `first` on were numbered by their place among this worker's lines of the
    batch: number them by their line in the source, as one process would."""
    mine = [i for i, w in enumerate(owners) if w == part]
    for m in stats.samples[first:]:
        m.line = base + mine[m.line - 1]


def _nowhere() -> int:
    return 0


def _work(inbox: Connection, outbox: Connection, part: int) -> None:
    """A worker: parse and track the lines it is sent; send back its Part."""
    byfile.quiet()
    stats, tracker, order = ReadStats(), Tracker(), list[int]()
    # the parent gave up (a refused source, Ctrl-C), maybe in the middle of a message: stop quietly
    with suppress(EOFError, OSError, pickle.UnpicklingError):
        _track(inbox, part, stats, tracker, order)
        terms = tracker.finish()
        stats.bad_values, stats.duplicates = tracker.bad_values, tracker.duplicates
        outbox.send(Part(stats, order, terms))
    inbox.close()
    outbox.close()


def _track(conn: Connection, part: int, stats: ReadStats, tracker: Tracker,
           order: list[int]) -> None:  # fmt: skip
    name, offset = "", 0  # the source's name; the lines of the sources before it
    while (msg := conn.recv()) is not None:
        if msg[0] == _SOURCE:
            _, name, offset = msg
            continue
        _, base, owners, blob = msg
        first = len(stats.samples)
        lines = blob.split(b"\n")
        lines.pop()  # each line was sent with a newline after it
        read_lines(name, lines, _nowhere, 0, stats, tracker.feed, None, tracker.damaged)
        if len(stats.samples) > first:
            _renumber(stats, first, base, owners, part)
            order.extend(offset + m.line for m in stats.samples[first:])


class Dispatch:
    """The parent's side: route each batch of lines and send every worker its share."""

    def __init__(self, conns: list[Connection], stats: ReadStats,
                 progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.conns = conns
        self.stats = stats
        self.progress = progress
        self.router = Router(len(conns))
        self.masks = masks(len(conns))

    def consume(self, name: str, head: list[bytes], fh: io.BufferedIOBase,
                where: Callable[[], int], done_before: int) -> None:  # fmt: skip
        """reader.Consume: the lines of one source, read as read_lines reads them (a failing
        read keeps the lines before it, and read_sources reports the failure)."""
        for conn in self.conns:
            conn.send((_SOURCE, name, self.stats.lines))
        lineno = 0
        batch = head
        try:
            while True:
                batch.extend(islice(fh, BATCH_LINES - len(batch)))
                if not batch:
                    break
                self._send(batch, lineno + 1)
                lineno += len(batch)
                batch = []
                if self.progress is not None:
                    self.progress(done_before + where())
        finally:
            if batch:  # read before a failure
                self._send(batch, lineno + 1)
                lineno += len(batch)
            self.stats.lines += lineno

    def _send(self, batch: list[bytes], base: int) -> None:
        if base == 1 or not batch[-1].endswith(b"\n"):
            # a line without its newline: the last of a source, or one cut by the sniff's limit
            batch = [raw if raw.endswith(b"\n") else raw + b"\n" for raw in batch]
        owners = self.router.route(batch, b"".join(batch))
        for part, conn in enumerate(self.conns):
            mine = list(compress(batch, owners.translate(self.masks[part])))
            if mine:
                conn.send((_LINES, base, owners, b"".join(mine)))


def _merge(stats: ReadStats, parts: list[Part]) -> list[TerminalRecord]:
    """The parent's counts (lines, sources, unreadable ends) with the workers'; the samples in
    reading order, the first MAX_SAMPLES of them, as one process keeps them."""
    keyed = [(m.line, 0, m) for m in stats.samples]  # the parent's are numbered across sources
    for p in parts:
        stats.events += p.stats.events
        stats.blank += p.stats.blank
        stats.malformed += p.stats.malformed
        stats.bad_values += p.stats.bad_values
        stats.duplicates += p.stats.duplicates
        keyed.extend((n, 1, m) for n, m in zip(p.order, p.stats.samples, strict=True))
    keyed.sort(key=lambda k: (k[0], k[1]))
    stats.samples = [m for _, _, m in keyed[:MAX_SAMPLES]]
    return sorted((t for p in parts for t in p.terms), key=lambda t: t.tid)


def _pipe(ctx: multiprocessing.context.BaseContext) -> tuple[Connection, Connection]:
    """A one-way pipe (reader, writer) holding up to PIPE_BYTES: the parent can run a few
    batches ahead of a worker, so one worker's pause does not hold up the others."""
    reader, writer = ctx.Pipe(duplex=False)
    with suppress(OSError, AttributeError):
        fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return reader, writer


@contextmanager
def _pool(workers: int) -> Iterator[list[tuple[Connection, Connection]]]:
    """K worker processes, each with a pipe to it and one back; stopped on the way out."""
    ctx = multiprocessing.get_context()
    links: list[tuple[Connection, Connection]] = []
    procs = []
    failed = True
    try:
        for part in range(workers):
            inbox, to_worker = _pipe(ctx)
            from_worker, outbox = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_work, args=(inbox, outbox, part), daemon=True)
            proc.start()
            inbox.close()
            outbox.close()
            links.append((to_worker, from_worker))
            procs.append(proc)
        yield links
        failed = False
    finally:
        for proc in procs:
            if failed:
                proc.terminate()  # SIGTERM: no results, no traceback
        for link in links:
            for conn in link:
                conn.close()
        for proc in procs:
            proc.join()


def diagnose_parallel(sources: list[Source], workers: int,
                      progress: Callable[[int], None] | None = None) -> Diagnosis:  # fmt: skip
    """The same diagnosis as engine.diagnose, with the parsing and tracking split over `workers`
    processes by terminal: whole files to each when they hold terminals of their own (byfile.py),
    else the lines routed one by one. `progress(bytes)` as engine.diagnose's (when files turn
    out not to hold terminals of their own, it starts again from 0 as the lines are routed)."""
    jobs = byfile.plan(sources, workers)
    if jobs is not None:
        got = byfile.run(jobs, workers, progress)
        if got is not None:
            return judge_fleet(*got)
    stats = ReadStats()
    with _pool(workers) as links:
        conns = [to_worker for to_worker, _ in links]
        read_sources(sources, stats, Dispatch(conns, stats, progress).consume, progress)
        for conn in conns:
            conn.send(None)
        parts = [from_worker.recv() for _, from_worker in links]
    return judge_fleet(stats, _merge(stats, parts))
