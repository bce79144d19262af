"""How long a full terminal sale takes, and what the journal's durability costs.

    .venv/bin/python benchmarks/terminal_sale.py [--sales 200] [--dir DIR]

`steadypos host` runs in a subprocess on a fresh temporary database seeded with the demo data
(SQLite, WAL, synchronous=FULL, as always). Two terminals run in this process, each on its own
fresh journal in a temporary directory under --dir (default: the system's temporary directory;
put it on the disk you care about: on tmpfs an fsync costs nothing):

- "full": the journal as shipped, synchronous=FULL: every journal step is fsync'd;
- "off": the baseline, the same terminal with its journal on synchronous=OFF
  (`TerminalSettings(journal_sync="OFF")`, benchmark only).

Each measured sale is `Terminal.sale()` on an open terminal whose link stays up between sales, as
on a real terminal: swipe, PIN, pack + MAC, every journal step, the exchange with the host, the
receipt. The two terminals take turns (the order swapped every round) so that both see the same
background load. After a few warm-up sales each (the first one signs in), N sales each are
timed; the figures are the median and the p99 (nearest rank) in milliseconds, and the cost of
durability as the ratio full/off and as the difference per sale and per journal commit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from steadypos.host import process
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv
from steadypos.progress import progress
from steadypos.protocol.mac import MacAlgorithm
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.settings import TerminalSettings

DEMO = demo_data()
MODES = ("FULL", "OFF")
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def open_terminal(journal: Path, index: int, host: str, port: int, sync: str) -> Terminal:
    t = DEMO["terminals"][index]
    Terminal.init(journal, host, port, t["tid"], t["mid"], bytes.fromhex(t["tmk"]),
                  mac_alg=MacAlgorithm(t["mac"]))
    term = Terminal.open(journal, settings=TerminalSettings(journal_sync=sync))
    (got,) = term.journal.conn.execute("PRAGMA synchronous").fetchone()
    if SYNC_NAMES.get(got) != sync:
        raise SystemExit(f"journal opened with synchronous={got}, wanted {sync}")
    return term


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]  # nearest rank


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sales", type=int, default=200, help="timed sales per mode")
    ap.add_argument("--warmup", type=int, default=5, help="untimed sales per mode first")
    ap.add_argument("--amount", type=int, default=1, help="fen per sale")
    ap.add_argument("--dir", default=None, help="where the journals go (default: system tmp)")
    args = ap.parse_args()

    card = next(c for c in DEMO["cards"] if c["kind"] == "magstripe"
                and c["status"] == "active" and c["balance"] >= 100_000)
    swipe = CardInput(track2=card["track2"])
    times: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory(prefix="steadypos-bench-", dir=args.dir) as tmp:
        db = Path(tmp) / "host.db"
        proc, host, port = process.start(steadypos_argv(
            "host", "--db", str(db), "--port", "0", "--seed-demo", "--log-file", f"{db}.log"))
        terms: dict[str, Terminal] = {}
        try:
            for i, mode in enumerate(MODES):
                terms[mode] = open_terminal(Path(tmp) / f"{mode.lower()}.journal", i, host,
                                            port, mode)
            with progress("sales", args.warmup + args.sales, "sales") as meter:
                for n in range(args.warmup + args.sales):
                    meter.advance()
                    for mode in MODES if n % 2 == 0 else MODES[::-1]:
                        started = time.perf_counter()
                        out = terms[mode].sale(args.amount, swipe, card["pin"])
                        took = time.perf_counter() - started
                        if out.result != "approved":
                            raise SystemExit(f"{mode}: sale {n} {out.result}: {out.message}")
                        if n >= args.warmup:
                            times[mode].append(took * 1000)
            last = terms["FULL"].journal.txns()[-1]
            commits = len(terms["FULL"].journal.steps_of(last.id))
        finally:
            for term in terms.values():
                term.close()
            process.stop(proc)
        check = subprocess.run(steadypos_argv("ledger", "check", "--db", str(db)),
                               capture_output=True, text=True)
        where = tmp

    print(f"{args.sales} sales per mode (+{args.warmup} warm-up), {os.cpu_count()} CPUs, "
          f"journals in {Path(where).parent}, host synchronous=FULL")
    med = {m: statistics.median(times[m]) for m in MODES}
    for mode in MODES:
        print(f"journal synchronous={mode:4}  median {med[mode]:7.2f} ms   "
              f"p99 {p99(times[mode]):7.2f} ms   mean {statistics.fmean(times[mode]):7.2f} ms")
    cost = med["FULL"] - med["OFF"]
    print(f"cost of durability: full/off median x{med['FULL'] / med['OFF']:.2f}, "
          f"p99 x{p99(times['FULL']) / p99(times['OFF']):.2f}; +{cost:.2f} ms per sale, "
          f"{cost / commits:.2f} ms per fsync'd journal commit ({commits} per sale)")
    print("ledger check: " + ("balanced" if check.returncode == 0 else "FAILED\n" + check.stdout))


if __name__ == "__main__":
    main()
