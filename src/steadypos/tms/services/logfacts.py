"""What an uploaded log and the TMS tell each other: the TMS's maintenance and training records
of the terminal go into the log the diagnosis reads (as `maintenance` and `training` events,
in time order); the log's training-mode sessions become training records, and the operators
whose flows the diagnosis blamed on operator error or a training gap are kept for
`GET /training/gaps`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms.fleet_models import LogUpload
from steadypos.tms.models import FleetTerminal
from steadypos.tms.ops_models import MaintenanceRecord, OperatorError, TrainingRecord

OPERATOR_CAUSES = frozenset({"operator_error", "training_gap"})
MAX_OPERATORS = 50


def _stamp(record_at: Any) -> str:
    return str(record_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def tms_events(db: Session, tid: str) -> list[dict[str, Any]]:
    done = [{"ts": _stamp(m.done_at), "tid": tid, "type": "maintenance", "kind": m.kind}
            for m in db.scalars(select(MaintenanceRecord).where(
                MaintenanceRecord.tid == tid, MaintenanceRecord.done_at.is_not(None)))]
    trained = [{"ts": _stamp(t.done_at), "tid": tid, "type": "training",
                "operator": t.operator, "course": t.course}
               for t in db.scalars(select(TrainingRecord).where(
                   TrainingRecord.tid == tid, TrainingRecord.done_at.is_not(None),
                   TrainingRecord.source != "training_mode"))]
    return sorted(done + trained, key=lambda e: e["ts"])


def merged(db: Session, tid: str, src: Path, dst: Path) -> Path:
    """`src` (gzip) with the TMS's events of `tid` merged in by time, as plain JSON lines."""
    extra = tms_events(db, tid)
    if not extra:
        return src
    with gzip.open(src, "rb") as inp, dst.open("wb") as out:
        for line in inp:
            ts = _ts(line)
            while extra and ts is not None and extra[0]["ts"] <= ts:
                out.write(json.dumps(extra.pop(0)).encode() + b"\n")
            out.write(line if line.endswith(b"\n") else line + b"\n")
        out.writelines(json.dumps(e).encode() + b"\n" for e in extra)
    return dst


def _ts(line: bytes) -> str | None:
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    ts = rec.get("ts") if isinstance(rec, dict) else None
    return ts if isinstance(ts, str) else None


def collect(db: Session, term: FleetTerminal, upload: LogUpload, path: Path,
            culprits: Iterable[str] = ()) -> None:
    """Training records from the log's `training` events (training mode), and `culprits`: the
    operators behind the episodes the diagnosis called operator error or training gap (not
    everyone who logged in: a colleague who sold without a slip has no gap to close)."""
    opener = gzip.open if path.suffix == ".gz" else open
    seen = {(t.operator, t.course, t.done_at) for t in db.scalars(select(TrainingRecord)
            .where(TrainingRecord.tid == term.tid, TrainingRecord.source == "training_mode"))}
    with opener(path, "rb") as inp:
        for line in inp:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if (isinstance(rec, dict) and rec.get("type") == "training"
                    and isinstance(rec.get("operator"), str)
                    and isinstance(rec.get("course"), str)):
                _trained(db, term, rec, seen)
    if upload.cause in OPERATOR_CAUSES:
        db.add_all(OperatorError(operator=op[:64], tid=term.tid, mid=term.mid, cause=upload.cause,
                                 upload_id=upload.id)
                   for op in sorted(set(culprits))[:MAX_OPERATORS])


def _trained(db: Session, term: FleetTerminal, rec: dict[str, Any],
             seen: set[tuple[str, str, Any]]) -> None:
    from datetime import datetime

    try:
        at = datetime.fromisoformat(str(rec.get("ts")).replace("Z", "+00:00")).replace(
            microsecond=0)
    except ValueError:
        return
    key = (rec["operator"][:64], rec["course"][:100], at)
    if key in seen:
        return
    seen.add(key)
    score = rec.get("score")
    db.add(TrainingRecord(operator=key[0], tid=term.tid, mid=term.mid, course=key[1],
                          score=score if isinstance(score, int) and 0 <= score <= 100 else None,
                          source="training_mode", at=at, done_at=at, by=f"terminal:{term.tid}"))
