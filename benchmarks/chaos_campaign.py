"""A longer chaos campaign: the simulation and real processes, their figures side by side.

    .venv/bin/python benchmarks/chaos_campaign.py [--sim-runs 2000] [--real-runs 20] [--seed 1]
                                                  [--out DIR]

Runs `steadypos chaos --sim --runs N --seed S --json DIR/chaos-sim.json` (one process: host,
terminals, network and clock simulated, driven by the seed) and then `steadypos chaos --runs M
--seed S --json DIR/chaos-real.json` (a `steadypos host` subprocess, the fault proxy, terminals as
`steadypos terminal` subprocesses), and prints for each: schedules run, seconds, schedules per
minute, faults injected by kind, violations (each with the seed that replays it). Exits 1 when
either campaign found a violation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from steadypos.host.process import steadypos_argv


def campaign(sim: bool, runs: int, seed: int, out: Path) -> tuple[int, dict[str, Any]]:
    argv = steadypos_argv("chaos", "--runs", str(runs), "--seed", str(seed), "--json",
                          str(out)) + (["--sim"] if sim else [])
    print("$ steadypos", " ".join(argv[3:]), flush=True)
    proc = subprocess.run(argv, env=None)
    return proc.returncode, json.loads(out.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-runs", type=int, default=2000)
    ap.add_argument("--real-runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1, help="seed of the first schedule of each")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "steadypos-chaos")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, sim, runs in (("sim", True, args.sim_runs), ("real", False, args.real_runs)):
        if runs > 0:
            code, data = campaign(sim, runs, args.seed, args.out / f"chaos-{name}.json")
            if code not in (0, 1):
                print(f"`steadypos chaos` ({name}) failed with exit {code}", file=sys.stderr)
                return 2
            results[name] = data
    names = list(results)
    kinds = sorted({k for data in results.values() for k in data["faults"]})
    rows = [("schedules", [str(d["runs"]) for d in results.values()]),
            ("seconds", [f"{d['seconds']:.1f}" for d in results.values()]),
            ("schedules/minute", [f"{d['runs'] / d['seconds'] * 60:.1f}" if d["seconds"] else "-"
                                  for d in results.values()]),
            ("faults injected", [str(sum(d["faults"].values())) for d in results.values()])]
    rows += [(f"  {k}", [str(d["faults"].get(k, 0)) for d in results.values()]) for k in kinds]
    rows.append(("violations", [str(len(d["violations"])) for d in results.values()]))
    print(f"\n{'':24}" + "".join(f"{n:>12}" for n in names))
    for label, values in rows:
        print(f"{label:24}" + "".join(f"{v:>12}" for v in values))
    for name, data in results.items():
        for v in data["violations"]:
            print(f"{name} seed {v['seed']}: {v['invariant']}: {v['detail']}")
    print(f"\nJSON: {', '.join(str(args.out / f'chaos-{n}.json') for n in names)}")
    return 1 if any(d["violations"] for d in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
