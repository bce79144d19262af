"""Streaming, tolerant reader for event log v1: files, folders, .gz and `-` (stdin).

One line at a time (memory does not grow with the number of lines); a malformed line is counted
and remembered by source and line number (the first few), never fatal. A source whose first lines
are mostly not events is not an event log: refused (named on the command line) or skipped (found
in a folder), before any of its lines is used.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from pathlib import Path

import orjson

loads = orjson.loads  # 5-6x json.loads on event lines: the parse is most of the reading time

# Files picked up inside a folder (a file named on the command line is always read).
LOG_SUFFIXES = (".jsonl", ".ndjson", ".log", ".jsonl.gz", ".ndjson.gz", ".log.gz", ".gz")
MAX_SAMPLES = 50  # malformed lines remembered with their line number (all are counted)
SNIFF_LINES = 200  # the first lines of a source that decide whether it is an event log
SNIFF_LINE_BYTES = 1 << 16  # a "line" longer than this is not an event (binary files)
MIN_EVENT_SHARE = 0.5  # of its first non-blank lines must be events, else not an event log
TID_IN_LINE = re.compile(rb'"tid"\s*:\s*"([^"\\]{1,64})"')  # the tid of a torn line, if there

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_CACHE: dict[str, float] = {}
_MINUTES: dict[str, float] = {}  # "YYYY-MM-DDTHH:MM" -> epoch s (-1: not that form)


class TimestampError(ValueError):
    """A `ts` that is not an RFC 3339 time (or a number of epoch seconds / milliseconds)."""


def parse_ts(ts: object) -> float:
    """RFC 3339 UTC ('2026-11-20T10:15:03.120Z', millis optional, offsets allowed) -> epoch s."""
    if type(ts) is str:
        # fast path for the log's own form: the minute from a cache, the seconds parsed
        minute = _MINUTES.get(ts[:16])
        if minute is None:
            minute = _minute(ts)
        if minute >= 0.0 and len(ts) >= 20 and ts[-1] == "Z" and ts[16] == ":":
            try:
                seconds = float(ts[17:-1])
            except ValueError:
                seconds = -1.0
            if 0.0 <= seconds < 61.0:
                return minute + seconds
        return _slow_ts(ts)
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        value = float(ts)
        return value / 1000.0 if value > 1e11 else value
    raise TimestampError(f"ts is {type(ts).__name__}, not a time")


def _minute(ts: str) -> float:
    """Epoch seconds of `YYYY-MM-DDTHH:MM` (cached), or -1 when `ts` does not start so."""
    head = ts[:16]
    value = -1.0
    if len(head) == 16 and head[10] in "Tt " and head[13] == ":":
        try:
            day = _DAY_CACHE.get(head[:10])
            if day is None:
                day = _day_seconds(head[:10])
            hour, minute = int(head[11:13]), int(head[14:16])
            if 0 <= hour < 24 and 0 <= minute < 60:
                value = day + hour * 3600 + minute * 60
        except (TimestampError, ValueError):
            pass
    if len(_MINUTES) > 200_000:
        _MINUTES.clear()
    _MINUTES[head] = value
    return value


def _day_seconds(text: str) -> float:
    try:
        ordinal = date.fromisoformat(text).toordinal()
    except ValueError:
        raise TimestampError(f"bad date in ts {text!r}") from None
    if len(_DAY_CACHE) > 100_000:
        _DAY_CACHE.clear()
    value = float((ordinal - _EPOCH_ORDINAL) * 86400)
    _DAY_CACHE[text] = value
    return value


def _slow_ts(ts: str) -> float:
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        raise TimestampError(f"bad ts {ts!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class Malformed:
    source: str
    line: int
    reason: str


@dataclass
class ReadStats:
    """What the reader saw: lines, events, malformed lines (counted; the first few kept), and the
    sources skipped as not event logs."""

    sources: list[str] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    blank: int = 0
    malformed: int = 0
    bad_values: int = 0  # events of a known type whose values could not be used (ignored)
    duplicates: int = 0  # the same line twice in a row (applied once)
    samples: list[Malformed] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: why" of sources that are not logs

    def bad(self, source: str, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(Malformed(source, line, reason))


class InputError(ValueError):
    """A path on the command line that does not exist or cannot be read (bad usage)."""


class NotAnEventLog(InputError):
    """A source named on the command line that is not an event log v1."""


@dataclass(frozen=True)
class Source:
    path: str  # a file, or "-" for stdin
    named: bool  # named on the command line (refused if not a log) or found in a folder (skipped)

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path


def expand_paths(paths: Iterable[str]) -> list[Source]:
    """Files as given, folders as their log files (recursively, sorted), `-` as stdin."""
    out: list[Source] = []
    for raw in paths:
        if raw == "-":
            out.append(Source("-", True))
            continue
        path = Path(raw)
        if path.is_dir():
            out.extend(
                Source(str(p), False)
                for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith(".") and p.name.endswith(LOG_SUFFIXES)
            )
        elif path.is_file():
            out.append(Source(str(path), True))
        elif path.exists():
            raise InputError(f"{raw}: not a regular file or folder")
        else:
            raise InputError(f"{raw}: no such file or folder")
    return out


def total_bytes(sources: Iterable[Source]) -> int | None:
    """Sum of on-disk sizes (None when stdin is among them: size unknown)."""
    total = 0
    for src in sources:
        if src.path == "-":
            return None
        with contextlib.suppress(OSError):
            total += os.path.getsize(src.path)
    return total


def open_source(src: str) -> tuple[io.BufferedIOBase, Callable[[], int]]:
    """Binary line stream for a source, plus a function giving the on-disk bytes consumed."""
    if src == "-":
        raw: io.BufferedIOBase = sys.stdin.buffer  # type: ignore[assignment]
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if head == b"\x1f\x8b":
            return io.BufferedReader(gzip.GzipFile(fileobj=raw)), lambda: 0  # type: ignore[arg-type]
        return raw, lambda: 0
    fh = open(src, "rb")  # noqa: SIM115 - closed by the caller
    head = fh.peek(2)[:2]
    if head == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(fileobj=fh), 1 << 16), fh.tell  # type: ignore[arg-type]
    return fh, fh.tell


def parse_event(raw: bytes) -> tuple[float, dict] | str:
    """(epoch seconds, event) of a well-formed line, or why it is not one ("" for blank)."""
    try:
        obj = loads(raw)
    except ValueError:
        return "not JSON" if raw.strip() else ""
    if type(obj) is not dict:
        return "not a JSON object"
    tid = obj.get("tid")
    if tid is None or tid == "" or "type" not in obj:
        return "missing tid" if not tid else "missing type"
    if type(tid) is not str:
        obj["tid"] = str(tid)
    try:
        return parse_ts(obj.get("ts")), obj
    except (TimestampError, IndexError):
        return "missing or bad ts"


def _sniff(fh: io.BufferedIOBase) -> tuple[list[bytes], str]:
    """The source's first lines, and why it is not an event log ("" when it is one)."""
    head: list[bytes] = []
    events = other = 0
    while len(head) < SNIFF_LINES:
        raw = fh.readline(SNIFF_LINE_BYTES)
        if not raw:
            break
        head.append(raw)
        got = parse_event(raw)
        if isinstance(got, tuple):
            events += 1
        elif got:
            other += 1
    if events and events >= MIN_EVENT_SHARE * (events + other):
        return head, ""
    if not events and not other:
        return head, "empty"
    return head, (f"not an event log v1 ({events} of the first {events + other} lines are"
                  " events)")  # fmt: skip


Damaged = Callable[[str, float | None], None]
Sink = Callable[[float, dict], None]  # takes (epoch seconds, event) of each well-formed line
# Takes one event log's lines: (name, its first lines as sniffed, the stream of the rest, the
# on-disk bytes consumed so far, those of the sources before it); counts into stats.lines.
Consume = Callable[[str, list[bytes], io.BufferedIOBase, Callable[[], int], int], None]


def read_events(
    sources: Iterable[Source],
    stats: ReadStats,
    sink: Sink,
    progress: Callable[[int], None] | None = None,
    damaged: Damaged | None = None,
) -> None:
    """Hand (epoch seconds, event) of every well-formed line to `sink` (pushed, not yielded: a
    generator's frames cost per line); count and sample the others.

    A well-formed line is a JSON object with `ts` (a time), `tid` and `type`; any other key or
    type is passed through for the caller to ignore. `progress(bytes_done)` is called every few
    thousand lines with the on-disk bytes consumed so far (across all sources); `damaged(tid, t)`
    for a malformed line whose terminal can still be read from it. A source named on the command
    line that is not an event log raises NotAnEventLog before anything of it is yielded.
    """

    def consume(name: str, head: list[bytes], fh: io.BufferedIOBase, where: Callable[[], int],
                done_before: int) -> None:  # fmt: skip
        read_lines(name, chain(head, fh), where, done_before, stats, sink, progress, damaged)

    read_sources(sources, stats, consume, progress)


def read_sources(sources: Iterable[Source], stats: ReadStats, consume: Consume,
                 progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
    """Open each source, refuse or skip what is not an event log, and hand the lines of each log
    to `consume` (read_events parses them here; workers.py sends them to its processes)."""
    done_before = 0
    for src in sources:
        name = src.name
        try:
            fh, where = open_source(src.path)
        except OSError as exc:
            stats.unreadable.append(f"{name}: {exc.strerror or exc}")
            continue
        try:
            head, why = _sniff(fh)
            if why:
                if src.named:
                    raise NotAnEventLog(f"{name}: {why}")
                stats.skipped.append(f"{name}: {why}")
                continue
            stats.sources.append(name)
            consume(name, head, fh, where, done_before)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            stats.bad(name, stats.lines + 1, f"unreadable from here on ({exc.__class__.__name__})")
        finally:
            if src.path != "-":
                with contextlib.suppress(OSError):
                    done_before += os.path.getsize(src.path)
                fh.close()
        if progress is not None:
            progress(done_before)


def read_lines(name: str, lines: Iterable[bytes], where: Callable[[], int], done_before: int,
               stats: ReadStats, sink: Sink, progress: Callable[[int], None] | None,
               damaged: Damaged | None) -> None:  # fmt: skip
    """The events of one source, counting as it goes (line numbers count every line)."""
    lineno = events = 0
    minutes = _MINUTES
    try:
        for raw in lines:
            lineno += 1
            if not lineno & 4095 and progress is not None:
                progress(done_before + where())
            # the common line inlined (a call per line costs): a dict with str tid, type and ts
            try:
                obj = loads(raw)
            except ValueError:
                obj = None
            if type(obj) is dict and "type" in obj:
                tid, ts = obj.get("tid"), obj.get("ts")
                if type(tid) is str and tid and type(ts) is str:
                    minute = minutes.get(ts[:16], -1.0)
                    if minute >= 0.0 and len(ts) >= 20 and ts[-1] == "Z" and ts[16] == ":":
                        try:
                            seconds = float(ts[17:-1])
                        except ValueError:
                            seconds = -1.0
                        if 0.0 <= seconds < 61.0:
                            events += 1
                            sink(minute + seconds, obj)
                            continue
            got = parse_event(raw)
            if type(got) is tuple:
                events += 1
                sink(*got)
            elif got:
                stats.bad(name, lineno, got)  # type: ignore[arg-type]
                if damaged is not None:
                    report_damage(raw, damaged)
            else:
                stats.blank += 1
    finally:
        stats.lines += lineno
        stats.events += events


def damage_tid(raw: bytes) -> str | None:
    """The terminal of a torn line, when it can be read from it."""
    found = TID_IN_LINE.search(raw)
    return None if found is None else found.group(1).decode("utf-8", "replace")


def report_damage(raw: bytes, damaged: Damaged) -> None:
    tid = damage_tid(raw)
    if tid is None:
        return
    t = None
    stamp = re.search(rb'"ts"\s*:\s*"([^"]{10,40})"', raw)
    if stamp is not None:
        with contextlib.suppress(TimestampError, ValueError, IndexError):
            t = parse_ts(stamp.group(1).decode("utf-8", "replace"))
    damaged(tid, t)
