"""Command line: python -m benchmarks.blindfleet --terminals 300 --days 3 --seed S --out DIR."""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path

from .generate import generate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.blindfleet", description=__doc__)
    p.add_argument("--terminals", type=int, default=300)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--gzip", action="store_true", help="write events.jsonl.gz")
    p.add_argument("--messy", action="store_true", help="skew, duplicates, torn lines, unknowns")
    p.add_argument("--jobs", type=int, default=0,
                   help="worker processes (default: the machine's cores, at most 4)")
    a = p.parse_args(argv)
    if a.terminals < 1 or a.days < 1:
        p.error("--terminals and --days must be at least 1")
    jobs = a.jobs or min(4, os.cpu_count() or 1)
    summary = generate(a.terminals, a.days, a.seed, a.out, a.gzip, a.messy, jobs)
    counts = collections.Counter(summary["labels"].values())
    print(f"{summary['terminals']} terminals, {a.days} days, {summary['lines']} lines in "
          f"{summary['seconds']} s ({jobs} jobs) -> {summary['path']}")
    for label, n in sorted(counts.items()):
        print(f"  {label:26s}{n:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
