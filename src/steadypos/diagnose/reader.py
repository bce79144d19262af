"""Streaming, tolerant reader for event log v1: files, folders, .gz and `-` (stdin).

One line at a time (memory does not grow with the number of lines); a malformed line is counted
and remembered by source and line number (the first few), never fatal.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

# Files picked up inside a folder (a file named on the command line is always read).
LOG_SUFFIXES = (".jsonl", ".ndjson", ".log", ".jsonl.gz", ".ndjson.gz", ".log.gz", ".gz")
MAX_SAMPLES = 50  # malformed lines remembered with their line number (all are counted)

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_CACHE: dict[str, float] = {}


class TimestampError(ValueError):
    """A `ts` that is not an RFC 3339 time (or a number of epoch seconds / milliseconds)."""


def parse_ts(ts: object) -> float:
    """RFC 3339 UTC ('2026-11-20T10:15:03.120Z', millis optional, offsets allowed) -> epoch s."""
    if type(ts) is str:
        try:
            day = _DAY_CACHE[ts[:10]]
        except KeyError:
            day = _day_seconds(ts[:10])
        if len(ts) >= 20 and ts[-1] == "Z" and ts[13] == ":" and ts[16] == ":" and ts[10] in "Tt ":
            try:
                return day + int(ts[11:13]) * 3600 + int(ts[14:16]) * 60 + float(ts[17:-1])
            except ValueError:
                pass
        return _slow_ts(ts)
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        value = float(ts)
        return value / 1000.0 if value > 1e11 else value
    raise TimestampError(f"ts is {type(ts).__name__}, not a time")


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


def format_ts(epoch: float) -> str:
    """Epoch seconds -> RFC 3339 UTC with milliseconds."""
    moment = datetime.fromtimestamp(round(epoch, 3), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Malformed:
    source: str
    line: int
    reason: str


@dataclass
class ReadStats:
    """What the reader saw: lines, events, malformed lines (counted; the first few kept)."""

    sources: list[str] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    blank: int = 0
    malformed: int = 0
    bad_values: int = 0  # events of a known type whose values could not be used (ignored)
    samples: list[Malformed] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def bad(self, source: str, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(Malformed(source, line, reason))


class InputError(ValueError):
    """A path on the command line that does not exist or cannot be read (bad usage)."""


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given, folders as their log files (recursively, sorted), `-` as stdin."""
    out: list[str] = []
    for raw in paths:
        if raw == "-":
            out.append("-")
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                str(p)
                for p in path.rglob("*")
                if p.is_file() and not p.name.startswith(".") and p.name.endswith(LOG_SUFFIXES)
            )
            out.extend(found)
        elif path.is_file():
            out.append(str(path))
        elif path.exists():
            raise InputError(f"{raw}: not a regular file or folder")
        else:
            raise InputError(f"{raw}: no such file or folder")
    return out


def total_bytes(sources: Iterable[str]) -> int | None:
    """Sum of on-disk sizes (None when stdin is among them: size unknown)."""
    total = 0
    for src in sources:
        if src == "-":
            return None
        with contextlib.suppress(OSError):
            total += os.path.getsize(src)
    return total


def _open(src: str) -> tuple[io.BufferedIOBase, Callable[[], int]]:
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


def read_events(
    paths: Iterable[str],
    stats: ReadStats,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[float, dict]]:
    """Yield (epoch seconds, event) for every well-formed line; count and sample the others.

    A well-formed line is a JSON object with `ts` (a time), `tid` and `type`; any other key or
    type is passed through for the caller to ignore. `progress(bytes_done)` is called every few
    thousand lines with the on-disk bytes consumed so far (across all sources).
    """
    loads = json.loads
    done_before = 0
    for src in paths:
        name = "<stdin>" if src == "-" else src
        stats.sources.append(name)
        try:
            fh, where = _open(src)
        except OSError as exc:
            stats.unreadable.append(f"{name}: {exc.strerror or exc}")
            continue
        lineno = 0
        try:
            for raw in fh:
                lineno += 1
                if not lineno & 4095 and progress is not None:
                    progress(done_before + where())
                try:
                    obj = loads(raw)
                except ValueError:
                    if raw.strip():
                        stats.bad(name, lineno, "not JSON")
                    else:
                        stats.blank += 1
                    continue
                if type(obj) is not dict:
                    stats.bad(name, lineno, "not a JSON object")
                    continue
                tid = obj.get("tid")
                if tid is None or tid == "" or "type" not in obj:
                    stats.bad(name, lineno, "missing tid" if not tid else "missing type")
                    continue
                if type(tid) is not str:
                    obj["tid"] = str(tid)
                try:
                    t = parse_ts(obj.get("ts"))
                except (TimestampError, IndexError):
                    stats.bad(name, lineno, "missing or bad ts")
                    continue
                stats.events += 1
                yield t, obj
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            stats.bad(name, lineno + 1, f"unreadable from here on ({exc.__class__.__name__})")
        finally:
            stats.lines += lineno
            if src != "-":
                with contextlib.suppress(OSError):
                    done_before += os.path.getsize(src)
                fh.close()
        if progress is not None:
            progress(done_before)
