"""Run the fleet: simulate every terminal, check its episodes against its label, write the files.

Lines reach the file the way a collector receives them: in upload batches, each terminal sending
its log every half hour to hour and a half, so terminals interleave batch by batch while every
terminal's own lines stay in time order.
"""

from __future__ import annotations

import gzip
import json
import random
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

    A faulty terminal must show its fault at least once; a faint one that happened not to is
    run again with a little more intensity. A healthy one must show none.
    """
    for attempt in range(MAX_ATTEMPTS):
        sim = Sim(spec, days, attempt, boost=1.0 + 0.5 * attempt)
        for d in range(days):
            Day(sim, d).run()
        n = len(episodes((type_, f) for _, type_, f in sim.events))
        if (n == 0) == (spec.label == "none"):
            return sim.events, n, attempt
    raise RuntimeError(f"terminal {spec.tid} ({spec.label}) has {n} episodes after "
                       f"{MAX_ATTEMPTS} attempts")


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_MINUTES: dict[int, str] = {}


def fmt_ts(ms: int) -> str:
    """RFC 3339 UTC with milliseconds; the minute's text is cached (lines come in time order)."""
    minute, rest = divmod(ms, 60_000)
    head = _MINUTES.get(minute)
    if head is None:
        if len(_MINUTES) > 4096:
            _MINUTES.clear()
        head = _MINUTES[minute] = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
    return f"{head}{rest // 1000:02d}.{rest % 1000:03d}Z"


def to_line(tid: str, t: int, type_: str, fields: dict) -> str:
    return _ENCODE({"ts": fmt_ts(t), "tid": tid, "type": type_, **fields})


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


def generate(terminals: int, days: int, seed: int, out: Path, gz: bool = False,
             messy: bool = False) -> dict:
    """Write events.jsonl[.gz], labels.json and truth.json into `out`; return a summary."""
    t0 = time.perf_counter()
    specs = build_fleet(terminals, days, seed)
    batches: list[tuple[int, str, int, list[str]]] = []
    truth: dict[str, dict] = {}
    n_lines = 0
    for spec in specs:
        events, n_ep, attempt = simulate_terminal(spec, days)
        if messy:
            lines = mess_up(random.Random(f"messy:{seed}:{spec.tid}"), spec, events, to_line)
        else:
            lines = [(t, to_line(spec.tid, t, ty, f)) for t, ty, f in events]
        n_lines += len(lines)
        for k, (up, chunk) in enumerate(_chunks(random.Random(f"up:{seed}:{spec.tid}"), lines)):
            batches.append((up, spec.tid, k, [line for _, line in chunk]))
        truth[spec.tid] = {
            "label": spec.label, "variant": spec.variant, "intensity": spec.intensity,
            "episodes": n_ep, "attempt": attempt, "kind": spec.kind, "brand": spec.brand,
            "model": spec.model, "firmware": spec.firmware, "app_version": spec.app_version,
        }
    batches.sort()
    out.mkdir(parents=True, exist_ok=True)
    body = "".join(line + "\n" for *_, chunk in batches for line in chunk).encode()
    path = out / ("events.jsonl.gz" if gz else "events.jsonl")
    with open(path, "wb") as fh:
        if gz:
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as z:
                z.write(body)
        else:
            fh.write(body)
    labels = {tid: t["label"] for tid, t in sorted(truth.items())}
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return {"path": str(path), "terminals": len(specs), "lines": n_lines,
            "seconds": round(time.perf_counter() - t0, 2), "labels": labels}
