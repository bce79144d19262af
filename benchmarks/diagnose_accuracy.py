"""Accuracy of the flash-exit diagnosis on fleets it has never seen, from two generators.

    .venv/bin/python benchmarks/diagnose_accuracy.py [--terminals 300] [--days 3]
        [--seeds 81955 71340] [--generators sim blind blind-messy] [--jobs 1]

Generators: `sim` is the project's simulator (`steadypos simulate-fleet`); `blind` is
benchmarks/blindfleet, written from docs/flash-exit-diagnosis.md alone by someone who never read
the diagnosis (other operator model, timing, health curves); `-messy` adds each one's damage
(clock skew, duplicated and out-of-order lines, torn lines, missing inventory); `alt-A`/`alt-B`
are diagnose_altfleet.py's two styles. Each fleet is written to a file, diagnosed from it and
scored against its ground truth: per-label precision/recall/F1 and macro-F1 (over the labels
present, `none` included), per generator and seed, and the goal (issue 15): macro-F1 >= 0.95 and
no label under 0.85 on each.

Seeds: the diagnosis was tuned on blind 101-104 and sim 201-202 (and earlier on 1-9, 41, 42,
7411-10744, 9001, 9002, 5501, 5502), its issue-15 rules on 7701, 7702, 5601 and 5602 (all
three generators), and the round after (noise floors, the interference/worn/link kinds, the
undecided band) on those and 8801, 8802; 26748 and 46037 were drawn after that and run once;
66675 and 94066, drawn next, were looked into after messy 66675 missed (a field's swipe errors
left out of the reader's trend), so they tune too; the default seeds 81955 and 71340 were drawn
after that and run once (README: met on five of six fleets, not simulate-fleet 81955).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPORTED_SEEDS = (81955, 71340)
GENERATORS = ("sim", "sim-messy", "blind", "blind-messy", "alt-A", "alt-B")
GOAL_MACRO, GOAL_LABEL = 0.95, 0.85


def _write(gen: str, seed: int, terminals: int, days: int, folder: str) -> tuple[str, dict]:
    """Write one fleet into `folder`: (events path, {tid: label})."""
    path = os.path.join(folder, "events.jsonl")
    messy = gen.endswith("-messy")
    if gen.startswith("sim"):
        from steadypos.fleetsim.writer import open_out, write_fleet

        with open_out(path) as fh:
            return path, write_fleet(terminals, days, seed, fh, untidy=messy)
    if gen.startswith("blind"):
        from benchmarks.blindfleet.generate import generate

        generate(terminals, days, seed, Path(folder), False, messy, 1)
        return path, json.loads(Path(folder, "labels.json").read_text(encoding="utf-8"))
    from diagnose_altfleet import generate as alt

    lines, truth = alt(terminals, days, seed, gen[-1])
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in lines)
    return path, truth


def one_fleet(job: tuple[str, int, int, int]) -> tuple[str, int, dict, dict, float, int]:
    from steadypos.diagnose.engine import diagnose

    gen, seed, terminals, days = job
    folder = tempfile.mkdtemp(prefix=f"diag-acc-{gen}-")
    try:
        path, truth = _write(gen, seed, terminals, days, folder)
        t0 = time.perf_counter()
        d = diagnose([path])
        took = time.perf_counter() - t0
        return gen, seed, truth, d.labels(), took, d.stats.events
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _met(s) -> bool:  # noqa: ANN001 - metrics.Score
    return s.macro_f1 >= GOAL_MACRO and min(s.f1[k] for k in s.present) >= GOAL_LABEL


def _weakest(s, k: int = 3) -> str:  # noqa: ANN001
    return ", ".join(f"{x} {s.f1[x]:.2f}" for x in sorted(s.present, key=lambda x: s.f1[x])[:k])


def main() -> None:
    from steadypos.diagnose.metrics import score

    ap = argparse.ArgumentParser(description="flash-exit diagnosis accuracy on unseen fleets")
    ap.add_argument("--terminals", type=int, default=300)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(REPORTED_SEEDS))
    ap.add_argument("--generators", nargs="+", default=["sim", "blind", "blind-messy"],
                    choices=GENERATORS)  # fmt: skip
    ap.add_argument("--jobs", type=int, default=1, help="fleets generated at once")
    args = ap.parse_args()
    jobs = [(g, s, args.terminals, args.days) for g in args.generators for s in args.seeds]
    pooled: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    verdicts: list[tuple[str, int, bool]] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for gen, seed, truth, pred, took, events in pool.map(one_fleet, jobs):
            s = score(truth, pred)
            verdicts.append((gen, seed, _met(s)))
            print(f"{gen:12s} seed {seed:>6}: {len(truth)} terminals, {events:,} events, "
                  f"diagnosed in {took:.1f} s: macro-F1 {s.macro_f1:.3f}; weakest "
                  f"{_weakest(s)}: goal {'MET' if _met(s) else 'NOT MET'}", flush=True)  # fmt: skip
            t, p = pooled.setdefault(gen, ({}, {}))
            for tid, label in truth.items():
                t[f"{seed}/{tid}"] = label
                p[f"{seed}/{tid}"] = pred.get(tid, "none")
    for gen, (t, p) in pooled.items():
        s = score(t, p)
        print(f"\n{gen}: seeds {' '.join(map(str, args.seeds))} pooled ({len(t)} terminals)")
        print(s.table())
        errors = Counter((t[k], p[k]) for k in t if t[k] != p[k])
        if errors:
            print("most frequent confusions: " + "; ".join(
                f"{a} -> {b}: {n}" for (a, b), n in errors.most_common(6)))  # fmt: skip
    ok = all(m for _, _, m in verdicts)
    print(f"\ngoal (macro-F1 >= {GOAL_MACRO} and every label >= {GOAL_LABEL} on each fleet): "
          + ("MET on every fleet" if ok else "NOT MET on " + ", ".join(
              f"{g} {s}" for g, s, m in verdicts if not m)))  # fmt: skip


if __name__ == "__main__":
    main()
