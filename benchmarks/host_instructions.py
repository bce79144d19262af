"""Instructions a durable sale costs on the host's request path, counted by valgrind's callgrind:
a figure that does not move with the machine's load, to compare code versions on a busy machine.

    .venv/bin/python benchmarks/host_instructions.py [--sales 100 1100] [--clients 1]
        [--src NAME=PATH ...]

For each code version (`--src`, as in host_throughput.py; without it the sources this
interpreter imports), host_floor.py runs under callgrind twice on a fresh SQLite database
(synchronous=FULL) seeded by host_throughput.py, with exactly N1 and N2 sales (`--sales N1 N2`);
start-up, seeding and sign-ins cost the same in both, so (I(N2) - I(N1)) / (N2 - N1) is the
instructions of one sale: decode, group writer, service, store, SQLite, encode. Python's own
figure (the interpreter's instructions, not seconds): lower is less CPU a sale. One client by
default: each group is one sale, so no figure depends on how the threads met; the hash seed is
fixed, so no dict depends on the run. Two runs of the same code agreed within 0.1%.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_world import env_for, fresh_db, sources

FLOOR = str(Path(__file__).with_name("host_floor.py"))


def instructions(sales: int, clients: int, src: str | None) -> int:
    """Instructions callgrind counted in one run of host_floor.py with `sales` sales."""
    env = {**env_for(src), "PYTHONHASHSEED": "0"}
    with fresh_db(None, clients, env) as (url, keys), \
            tempfile.TemporaryDirectory(prefix="steadypos-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, FLOOR, "--db", url, "--keys", keys, "--clients",
                        str(clients), "--sales", str(sales)], check=True, capture_output=True,
                       env=env)
        found = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"error: no summary line in callgrind's output for {sales} sales")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sales", type=int, nargs=2, default=[100, 1100], metavar=("N1", "N2"))
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="steadypos sources to count (repeatable)")
    args = ap.parse_args()
    low, high = args.sales
    if not 0 <= low < high:
        raise SystemExit("error: --sales N1 N2 with 0 <= N1 < N2")
    for name, src in sources(args.src):
        a, b = (instructions(n, args.clients, src) for n in (low, high))
        print(f"{name:20} {(b - a) / (high - low):>12,.0f} instructions/sale "
              f"({low} sales: {a:,}, {high}: {b:,})", flush=True)


if __name__ == "__main__":
    main()
