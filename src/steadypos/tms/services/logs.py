"""Log uploads: a gzip event log v1 of one terminal (at most 64 MiB), checked whole before
anything is kept, diagnosed (steadypos.diagnose), kept as its diagnosis; a cause other than
`none` raises an alert for the terminal."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
import zlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steadypos.diagnose.engine import diagnose
from steadypos.tms.errors import Invalid, TmsError
from steadypos.tms.fleet_models import LogUpload
from steadypos.tms.models import FleetTerminal
from steadypos.tms.services import alerts, logfacts

MAX_UPLOAD = 64 << 20
MAX_EXPANDED = 1 << 30  # a log that expands past this is a gzip bomb, not a log
CHUNK = 1 << 20


class TooLarge(TmsError):
    status = 413


def check(raw: bytes, tid: str) -> int:
    """Raise unless `raw` is a whole gzip stream of JSON lines, all of terminal `tid` (lines
    that are not JSON are the diagnosis's to report); the number of lines."""
    if len(raw) > MAX_UPLOAD:
        raise TooLarge(f"the upload is {len(raw)} bytes; at most {MAX_UPLOAD} (64 MiB)")
    if raw[:2] != b"\x1f\x8b":
        raise Invalid("body", "is not gzip (no gzip header)")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    expanded, lines, tail = 0, 0, b""
    try:
        for at in range(0, len(raw), CHUNK):
            data = tail + inflate.decompress(raw[at:at + CHUNK])
            expanded += len(data) - len(tail)
            if expanded > MAX_EXPANDED:
                raise TooLarge(f"the log expands past {MAX_EXPANDED} bytes")
            *whole, tail = data.split(b"\n")
            lines += _check_lines(whole, tid, lines)
        if not inflate.eof or inflate.unused_data:
            raise Invalid("body", "the gzip stream is truncated or has trailing bytes")
    except zlib.error as exc:
        raise Invalid("body", f"corrupt gzip: {exc}") from None
    return lines + _check_lines([tail], tid, lines) if tail.strip() else lines


def _check_lines(lines: list[bytes], tid: str, before: int) -> int:
    for n, line in enumerate(lines, before + 1):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("tid") not in (None, tid):
            raise Invalid("tid", f"line {n} is of terminal {rec.get('tid')!r}, not {tid}: "
                                 f"a terminal uploads its own log only")
    return len(lines)


def accept(db: Session, term: FleetTerminal, raw: bytes) -> LogUpload:
    """Check, diagnose and keep one upload (the same bytes twice are kept once)."""
    check(raw, term.tid)
    digest = hashlib.sha256(raw).hexdigest()
    seen = _stored(db, term.tid, digest)
    if seen is not None:
        return seen
    try:
        upload = _diagnosed(db, term, raw, digest)
        db.commit()
    except IntegrityError:  # the same upload stored meanwhile (a bus redelivery)
        db.rollback()
        stored = _stored(db, term.tid, digest)
        assert stored is not None
        return stored
    return upload


def _stored(db: Session, tid: str, digest: str) -> LogUpload | None:
    return db.scalar(select(LogUpload).where(LogUpload.tid == tid, LogUpload.sha256 == digest))


def _diagnosed(db: Session, term: FleetTerminal, raw: bytes, digest: str) -> LogUpload:
    """The upload diagnosed (with the TMS's maintenance and training merged in), its alert
    raised and what the log says of training and operators kept; not yet committed."""
    with tempfile.TemporaryDirectory(prefix="tms-log-") as tmp:
        path = Path(tmp) / f"{term.tid}.jsonl.gz"
        path.write_bytes(raw)
        path = logfacts.merged(db, term.tid, path, Path(tmp) / f"{term.tid}.jsonl")
        found = diagnose([str(path)])
        result = next((r for r in found.results if r.tid == term.tid), None)
        upload = LogUpload(tid=term.tid, sha256=digest, size=len(raw),
                           events=found.stats.events, bad_lines=found.stats.malformed,
                           episodes=result.episodes if result else 0,
                           cause=result.cause if result else "none",
                           confidence=float(result.confidence) if result else 0.0,
                           evidence=list(result.evidence)[:20] if result else [])
        db.add(upload)
        db.flush()
        culprits = {e.episode.operator for e in found.episodes if e.tid == term.tid
                    and e.cause in logfacts.OPERATOR_CAUSES and e.episode.operator}
        logfacts.collect(db, term, upload, path, culprits)
    if upload.cause != "none":
        alerts.raise_alert(db, f"diagnosis:{term.tid}:{upload.cause}", "tid", term.tid,
                           upload.cause, "high" if upload.episodes > 1 else "low",
                           upload.evidence[:5], mid=term.mid)
    return upload


def gzip_lines(lines: list[dict[str, object]]) -> bytes:
    """A log as a terminal uploads it (for tests and the demo)."""
    return gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in lines))
