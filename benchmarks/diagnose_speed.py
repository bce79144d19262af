"""Speed and memory of `steadypos diagnose` on 1,000,000 events (goal: at most 1.5x a bare
json.loads pass over the same file in the same run, memory that does not grow with the number of
events), and the speed-up of `--workers K`.

    .venv/bin/python benchmarks/diagnose_speed.py [--events 1000000] [--workers 2] [--keep]
        [--repeat 3] [--log PATH] [--gzip]

Each measurement runs in a fresh process so its peak RSS (resource.getrusage) is its own.
`--workers K` is timed against one process in the same run, interleaved `--repeat` times
(min / median of each, and the CPU seconds of all the processes of a run, children included),
and against the machine's ceiling for K processes (K one-process runs at once, same input),
from the moment the diagnosis modules are imported (the imports, the same for both, are timed
apart, and the speed-up with them is printed too);
the load average is printed with it, as other work on the machine takes cores from the workers.
`--log` times an existing log instead of generating one; `--gzip` also times a .gz copy of it;
`--per-terminal` also times the log written as a folder of one file per terminal (as the TMS
keeps uploads), which the workers split by file.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode not in ("baseline", "orjson"):  # the same imports for one process and for K: timed apart
    from steadypos.diagnose.engine import diagnose
    from steadypos.diagnose.report_json import to_dict
    from steadypos.diagnose.workers import diagnose_parallel
    from steadypos.diagnose.reader import expand_paths
imported = time.perf_counter()
extra = {"import_seconds": imported - t0}
t0 = imported
if mode == "baseline":
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
            n += 1
    extra["lines"] = n
elif mode == "orjson":
    import orjson
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            orjson.loads(line)
            n += 1
    extra["lines"] = n
else:
    workers = int(mode[len("workers"):]) if mode.startswith("workers") else 1
    sources = expand_paths([path])  # a file, or a folder of them
    d = diagnose_parallel(sources, workers) if workers > 1 else diagnose(sources)
    doc = to_dict(d)
    extra |= {"events": d.stats.events, "terminals": len(d.results),
              "episodes": len(doc["episodes"])}
elapsed = time.perf_counter() - t0
me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
rss_mb = max(me.ru_maxrss, kids.ru_maxrss) / 1024  # the biggest process: a worker or this one
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
print(json.dumps({"seconds": elapsed, "peak_rss_mb": rss_mb, "cpu_seconds": cpu, **extra}))
"""


def run(mode: str, path: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, path], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


MAKE = r"""
import itertools, json, sys
from steadypos.fleetsim.writer import simulate
path, events, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
terminals = max(10, events // 3800 + 1)  # a terminal-week is 4,000-4,500 events
_, stream = simulate(terminals, 7, seed)
dumps = json.JSONEncoder(separators=(",", ":")).encode
n = 0
with open(path, "w", encoding="utf-8", buffering=1 << 20) as fh:
    for ev in itertools.islice(stream, events):
        fh.write(dumps(ev))
        fh.write("\n")
        n += 1
print(n, terminals)
"""


def make_log(path: str, events: int, seed: int) -> tuple[int, int]:
    """Write the log in a child process (the parent stays small: children inherit peak RSS)."""
    out = subprocess.run(
        [sys.executable, "-c", MAKE, path, str(events), str(seed)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    n, terminals = out.stdout.split()
    return int(n), int(terminals)


def prefix(src: str, dst: str, lines: int) -> None:
    with open(src, "rb") as fh, open(dst, "wb") as out:
        out.writelines(itertools.islice(fh, lines))


def at_once(path: str, k: int) -> float:
    """Seconds (from the imports on, as run() times) the slowest of K one-process diagnoses of
    the same input took, started together: what K processes with nothing to share get out of
    this machine."""
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, "diagnose", path],
                              stdout=subprocess.PIPE, text=True) for _ in range(k)]
    slowest = 0.0
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args)
        slowest = max(slowest, json.loads(out)["seconds"])
    return slowest


def compare_workers(path: str, workers: list[int], repeat: int) -> None:
    """One process against `--workers K`, interleaved in the same run: min / median of each.
    Against the machine's own ceiling too: K one-process runs at once do K times the work in
    the time they take, so K x one alone / that time is the most K processes can gain here
    (less than K where cores are shared or slowed by each other); a speed-up is near-linear
    when it is near that."""
    load = os.getloadavg()
    runs: dict[int, list[dict]] = {k: [] for k in [1, *workers]}
    together: dict[int, list[float]] = {k: [] for k in workers}
    for _ in range(repeat):
        for k in runs:
            runs[k].append(run("diagnose" if k == 1 else f"workers{k}", path))
            if k > 1:
                together[k].append(at_once(path, k))
    one = [r["seconds"] for r in runs[1]]
    whole_one = statistics.median(r["seconds"] + r["import_seconds"] for r in runs[1])
    for k, rs in runs.items():
        secs = [r["seconds"] for r in rs]
        whole = statistics.median(r["seconds"] + r["import_seconds"] for r in rs)
        same = "same verdicts" if {r["episodes"] for r in rs} == {runs[1][0]["episodes"]} else (
            "DIFFERENT episodes")  # fmt: skip
        up = ""
        if k > 1:
            speed = statistics.median(one) / statistics.median(secs)
            ceiling = k * statistics.median(one) / statistics.median(together[k])
            up = (f"; speed-up min {min(one) / min(secs):.2f}x, median {speed:.2f}x ({same});"
                  f" with the imports {whole_one / whole:.2f}x; the machine's ceiling for {k}"
                  f" processes {ceiling:.2f}x: {100 * speed / ceiling:.0f}% of it")  # fmt: skip
        print(f"  --workers {k}: min {min(secs):.2f} s, median {statistics.median(secs):.2f} s"
              f" (imports {statistics.median(r['import_seconds'] for r in rs):.2f} s before),"
              f" CPU {statistics.median(r['cpu_seconds'] for r in rs):.2f} s, peak RSS"
              f" {max(r['peak_rss_mb'] for r in rs):.0f} MB{up}")  # fmt: skip
    end = os.getloadavg()
    print(f"  load average {load[0]:.2f} before, {end[0]:.2f} after; {os.cpu_count()} cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=77)
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--workers", type=int, nargs="*", default=[2],
                    help="also time --workers K for each K")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3, help="runs of each in the workers' timing")
    ap.add_argument("--log", help="an existing log to time (no log is generated)")
    ap.add_argument("--gzip", action="store_true", help="also time the workers on a .gz copy")
    ap.add_argument("--per-terminal", action="store_true",
                    help="also time the workers on a folder of one file per terminal")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="diag-speed-")
    path = args.log or os.path.join(folder, "events.jsonl")
    if args.log is None:
        t0 = time.perf_counter()
        n, terminals = make_log(path, args.events, args.seed)
        print(f"generated {n:,} events of {terminals} terminals"
              f" ({os.path.getsize(path) / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    base = run("baseline", path)
    fast = run("orjson", path)
    diag = run("diagnose", path)
    print(f"baseline  json.loads per line : {base['seconds']:6.2f} s "
          f"({1e6 * base['seconds'] / base['lines']:.2f} us/line), peak RSS "
          f"{base['peak_rss_mb']:.0f} MB")  # fmt: skip
    print(f"diagnose (read+episodes+score+JSON dict): {diag['seconds']:6.2f} s "
          f"({1e6 * diag['seconds'] / diag['events']:.2f} us/event), peak RSS "
          f"{diag['peak_rss_mb']:.0f} MB; {diag['terminals']} terminals, "
          f"{diag['episodes']} episodes")  # fmt: skip
    print(f"baseline  orjson.loads per line: {fast['seconds']:6.2f} s")
    ratio = diag["seconds"] / base["seconds"]
    print(f"ratio diagnose / bare json.loads parse: {ratio:.2f}x (goal <= 1.5x:"
          f" {'MET' if ratio <= 1.5 else 'NOT MET'}); diagnose / bare orjson parse:"
          f" {diag['seconds'] / fast['seconds']:.2f}x")  # fmt: skip
    if args.workers:
        print(f"one process against --workers {' '.join(map(str, args.workers))}, "
              f"{args.repeat} runs each, interleaved:")
        compare_workers(path, args.workers, args.repeat)
    if args.gzip:
        gz = os.path.join(folder, "events.jsonl.gz")
        with open(path, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        print(f"the same on a .gz copy ({os.path.getsize(gz) / 1e6:.0f} MB):")
        compare_workers(gz, args.workers, args.repeat)
        os.remove(gz)
    if args.per_terminal:
        fleet = os.path.join(folder, "fleet")
        files = split_by_terminal(path, fleet)
        print(f"the same as a folder of {files} files, one per terminal:")
        compare_workers(fleet, args.workers, args.repeat)
        shutil.rmtree(fleet)
    print(f"goal under 20 s for 1M events: {'MET' if diag['seconds'] < 20 else 'NOT MET'}"
          f" (scaled to 1M: {diag['seconds'] * 1e6 / diag['events']:.1f} s)")  # fmt: skip
    memory(folder, path, args.events, diag)
    if args.keep and args.log is None:
        print(f"log kept at {path}")
        return
    if args.log is None:
        os.remove(path)
    os.rmdir(folder)


SPLIT = r"""
import os, re, sys
path, folder = sys.argv[1], sys.argv[2]
tid = re.compile(rb'"tid":"([^"]*)"')
os.mkdir(folder)
out = {}
with open(path, "rb") as fh:
    for raw in fh:
        found = tid.search(raw)  # a torn or messy line without one: a file of its own
        name = found.group(1).decode(errors="replace") if found else "_no_tid"
        if name not in out:
            out[name] = open(os.path.join(folder, name + ".jsonl"), "wb")
        out[name].write(raw)
for fh in out.values():
    fh.close()
print(len(out))
"""


def split_by_terminal(path: str, folder: str) -> int:
    out = subprocess.run([sys.executable, "-c", SPLIT, path, folder], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return int(out.stdout)


def memory(folder: str, path: str, events: int, diag: dict) -> None:
    print("peak RSS against the number of events (same fleet, longer prefixes of the log):")
    for share in (4, 2):
        part = os.path.join(folder, f"part{share}.jsonl")
        prefix(path, part, events // share)
        r = run("diagnose", part)
        print(f"  {r['events']:>9,} events: {r['peak_rss_mb']:.0f} MB, {r['seconds']:.2f} s")
        os.remove(part)
    print(f"  {diag['events']:>9,} events: {diag['peak_rss_mb']:.0f} MB, {diag['seconds']:.2f} s")


if __name__ == "__main__":
    main()
