"""How long MTTA/MTTR take over many incidents: every incident loaded into Python (as
`incidents.stats` did) against the SQL aggregates it runs now, in the same run; and the first
page of `GET /incidents` (100 of them) sliced in Python from all against LIMIT/OFFSET.

    .venv/bin/python benchmarks/tms_incident_stats.py [--incidents 20000] [--repeat 5]
        [--backend sqlite|postgresql|both]

The TMS's tables are made by its migrations (SQLite: a fresh file, WAL, synchronous=FULL;
PostgreSQL: a fresh schema of database `test`) and filled with incidents directly: a third
triggered, a third acknowledged, a third resolved, each with a few lines of evidence. Printed:
the median of `--repeat` runs of each way in ms, the ratio, and whether both gave the same
figures (they must).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, insert, select

from steadypos.tms import db as tmsdb
from steadypos.tms.actors import Actor
from steadypos.tms.ops_models import Incident, IncidentState
from steadypos.tms.services import incidents

PG_URL = "postgresql://127.0.0.1:5432/test"
OPS = Actor("user:bench", "ops")


def fill(engine: Engine, n: int) -> None:
    """`n` incidents with times a few minutes to a few days apart."""
    rng = random.Random(14)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for k in range(n):
        opened = t0 + timedelta(seconds=rng.randrange(30 * 86400))
        acked = opened + timedelta(seconds=rng.randrange(60, 7200)) if k % 3 else None
        resolved = acked + timedelta(seconds=rng.randrange(600, 3 * 86400)) \
            if acked is not None and k % 3 == 2 else None
        status = IncidentState.RESOLVED if resolved else \
            IncidentState.ACKNOWLEDGED if acked else IncidentState.TRIGGERED
        tid = f"T{k % 5000:07d}"
        rows.append({"dedup_key": f"diagnosis:{tid}:hardware_printer:{k}", "scope": "tid",
                     "subject": tid, "cause": "hardware_printer", "severity": "high",
                     "status": status, "mid": f"{100000000000000 + k % 50}",
                     "evidence": [f"printer head_fault before {m} of 4 exits" for m in range(3)],
                     "members": [tid], "alerts": 1, "opened_at": opened, "acked_at": acked,
                     "resolved_at": resolved, "figure": "crashes_per_day", "steps_done": []})
    with engine.begin() as conn:
        for start in range(0, n, 2000):
            conn.execute(insert(Incident), rows[start:start + 2000])


def before(engine: Engine) -> dict[str, object]:
    """MTTA/MTTR as they were computed: every incident loaded, the means taken in Python."""
    with tmsdb.sessions(engine)() as db:
        rows = incidents.listing(db, OPS, None, None, None, 1_000_000, 0)[0]
        ack_s = [(i.acked_at - i.opened_at).total_seconds() for i in rows if i.acked_at]
        res_s = [(i.resolved_at - i.opened_at).total_seconds() for i in rows if i.resolved_at]
        return {"mtta_minutes": round(sum(ack_s) / len(ack_s) / 60, 1) if ack_s else None,
                "mttr_minutes": round(sum(res_s) / len(res_s) / 60, 1) if res_s else None,
                "acknowledged": len(ack_s), "resolved": len(res_s), "total": len(rows),
                "by_status": {s.value: sum(i.status == s for i in rows) for s in IncidentState}}


def page_before(engine: Engine) -> dict[str, object]:
    """The first page as `incidents.listing` made it: every incident loaded, then sliced."""
    with tmsdb.sessions(engine)() as db:
        rows = list(db.scalars(select(Incident).where(Incident.merged_into.is_(None))
                               .order_by(Incident.id.desc())))
        return {"ids": [i.id for i in rows[:100]], "total": len(rows)}


def page_after(engine: Engine) -> dict[str, object]:
    with tmsdb.sessions(engine)() as db:
        rows, total = incidents.listing(db, OPS, None, None, None, 100, 0)
        return {"ids": [i.id for i in rows], "total": total}


def after(engine: Engine) -> dict[str, object]:
    with tmsdb.sessions(engine)() as db:
        return incidents.stats(db, OPS)


def median_ms(fn: Callable[[Engine], dict[str, object]], engine: Engine,
              repeat: int) -> tuple[float, dict[str, object]]:
    times, got = [], {}
    for _ in range(repeat):
        t = time.perf_counter()
        got = fn(engine)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), got


def run(backend: str, url: str, n: int, repeat: int) -> None:
    engine = tmsdb.make_engine(tmsdb.DatabaseUrl.parse(url))
    tmsdb.migrate(engine)
    fill(engine, n)
    slow, old = median_ms(before, engine, repeat)
    fast, new = median_ms(after, engine, repeat)
    page_slow, page_old = median_ms(page_before, engine, repeat)
    page_fast, page_new = median_ms(page_after, engine, repeat)
    engine.dispose()
    print(f"{backend}: {n} incidents; loaded into Python {slow:.0f} ms, SQL aggregates "
          f"{fast:.1f} ms, {slow / fast:.1f}x; same figures: {'yes' if old == new else 'NO'}")
    print(f"  MTTA {new['mtta_minutes']} min, MTTR {new['mttr_minutes']} min, "
          f"{new['acknowledged']} acknowledged, {new['resolved']} resolved")
    print(f"  first page of 100: all loaded and sliced {page_slow:.0f} ms, LIMIT/OFFSET "
          f"{page_fast:.1f} ms, {page_slow / page_fast:.1f}x; same page: "
          f"{'yes' if page_old == page_new else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", str(Path(tmp) / "tms.db"), args.incidents, args.repeat)
    if args.backend in ("postgresql", "both"):
        schema = f"tms_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            run("postgresql", f"{PG_URL}?options=-csearch_path%3D{schema}", args.incidents,
                args.repeat)
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
