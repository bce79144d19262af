"""Run the fleet: simulate every terminal, check its episodes against its label, write the files.

Lines reach the file the way a collector receives them: in upload batches, each terminal sending
its log every half hour to hour and a half, so terminals interleave batch by batch while every
terminal's own lines stay in time order.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import random
import re
import time
from pathlib import Path

from .day import Day
from .episodes import episodes
from .fleet import TerminalSpec, build_fleet
from .messy import mess_up
from .sim import Sim

MAX_ATTEMPTS = 8


def simulate_terminal(spec: TerminalSpec, days: int) -> tuple[list, int, int]:
    """Events of one terminal, its episode count and the attempt that gave them.

    A faulty terminal should show its fault at least once; a faint one that happened not to is
    run again with a little more intensity. A healthy one must show none. A fault that never
    showed in MAX_ATTEMPTS runs keeps its last run (and is labelled `none`: no flash-exit).
    """
    for attempt in range(MAX_ATTEMPTS):
        sim = Sim(spec, days, attempt, boost=0.2 * attempt)
        for d in range(days):
            Day(sim, d).run()
        n = len(episodes((type_, f) for _, type_, f in sim.events))
        if (n == 0) == (spec.label == "none"):
            return sim.events, n, attempt
    if spec.label == "none":
        raise RuntimeError(f"healthy terminal {spec.tid} has {n} episodes after "
                           f"{MAX_ATTEMPTS} attempts")
    return sim.events, 0, MAX_ATTEMPTS - 1


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_unsafe = re.compile(r'["\\\x00-\x1f]').search
_DATES: dict[int, str] = {}


def fmt_ts(ms: int) -> str:
    """RFC 3339 UTC with milliseconds (`2026-11-20T10:15:03.120Z`)."""
    day, rest = divmod(ms, 86_400_000)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
    h, rest = divmod(rest, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{date}T{h:02d}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z"


def _value(v) -> str:
    """JSON text of one value; plain strings and ints by hand (most of the log), the rest by
    the json module."""
    kind = type(v)
    if kind is str:
        return f'"{v}"' if _unsafe(v) is None else _ENCODE(v)
    if kind is int:
        return str(v)
    if v is None:
        return "null"
    if kind is bool:
        return "true" if v else "false"
    return _ENCODE(v)


def to_line(tid: str, t: int, type_: str, fields: dict) -> str:
    """One event as a JSON line: ts, tid, type first, then the event's own keys."""
    body = "".join(f',"{k}":{_value(v)}' for k, v in fields.items())
    return f'{{"ts":"{fmt_ts(t)}","tid":"{tid}","type":"{type_}"{body}}}'


def _chunks(rng: random.Random, records: list) -> list[tuple[int, list]]:
    """Split one terminal's records into upload batches: (upload time, records)."""
    out: list[tuple[int, list]] = []
    if not records:
        return out
    cur: list = []
    cut = records[0][0] + rng.randint(30, 90) * 60_000
    last_up = 0
    for rec in records:
        if rec[0] >= cut and cur:
            last_up = max(last_up + 1, cur[-1][0] + rng.randint(5_000, 300_000))
            out.append((last_up, cur))
            cur, cut = [], rec[0] + rng.randint(30, 90) * 60_000
        cur.append(rec)
    out.append((max(last_up + 1, cur[-1][0] + rng.randint(5_000, 300_000)), cur))
    return out


def _one(job: tuple[TerminalSpec, int, int, bool]) -> tuple[list, dict]:
    """Upload batches and ground truth of one terminal (runs in a worker process)."""
    spec, days, seed, messy = job
    events, n_ep, attempt = simulate_terminal(spec, days)
    if messy:
        lines = mess_up(random.Random(f"messy:{seed}:{spec.tid}"), spec, events, to_line)
    else:
        lines = [(t, to_line(spec.tid, t, ty, f)) for t, ty, f in events]
    batches = [(up, spec.tid, k, [line for _, line in chunk])
               for k, (up, chunk) in enumerate(_chunks(random.Random(f"up:{seed}:{spec.tid}"),
                                                       lines))]
    truth = {"label": spec.label, "variant": spec.variant, "intensity": spec.intensity,
             "episodes": n_ep, "attempt": attempt, "lines": len(lines), "kind": spec.kind,
             "brand": spec.brand, "model": spec.model, "firmware": spec.firmware,
             "app_version": spec.app_version}
    return batches, truth


def generate(terminals: int, days: int, seed: int, out: Path, gz: bool = False,
             messy: bool = False, jobs: int = 1) -> dict:
    """Write events.jsonl[.gz], labels.json and truth.json into `out`; return a summary.

    Terminals are independent and seeded by their own id, so the bytes do not depend on `jobs`.
    """
    t0 = time.perf_counter()
    specs = build_fleet(terminals, days, seed)
    work = [(spec, days, seed, messy) for spec in specs]
    if jobs > 1:
        with multiprocessing.Pool(jobs) as pool:
            results = pool.map(_one, work, chunksize=4)
    else:
        results = [_one(job) for job in work]
    batches = sorted(b for bs, _ in results for b in bs)
    truth = {spec.tid: t for spec, (_, t) in zip(specs, results, strict=True)}
    n_lines = sum(t["lines"] for t in truth.values())
    out.mkdir(parents=True, exist_ok=True)
    body = "".join(line + "\n" for *_, chunk in batches for line in chunk).encode()
    path = out / ("events.jsonl.gz" if gz else "events.jsonl")
    with open(path, "wb") as fh:
        if gz:
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as z:
                z.write(body)
        else:
            fh.write(body)
    # the document's ground truth: `none` for a terminal with no flash-exit, whatever it was dealt
    labels = {tid: t["label"] if t["episodes"] else "none" for tid, t in sorted(truth.items())}
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return {"path": str(path), "terminals": len(specs), "lines": n_lines,
            "seconds": round(time.perf_counter() - t0, 2), "labels": labels}
