"""How many durable sales a second the host takes, against the floor of its own request path and
the ceiling of the same clients, in the same run.

    .venv/bin/python benchmarks/host_throughput.py [--clients 32] [--seconds 10] [--repeat 3]
        [--db postgresql://127.0.0.1:5432/test] [--workers 2] [--src NAME=PATH ...]

Measured: `steadypos host` in a subprocess on a fresh database seeded with the demo data and one
terminal and one card per client: a temporary SQLite file (WAL, synchronous=FULL), and with
`--db` also a fresh schema in that PostgreSQL database (dropped after), with `--workers K` host
processes; the first row (SQLite, one process) is the baseline. K asyncio connections in this
process sign in (once per terminal) and send sales of 1 fen, each with a PIN, one at a time per
connection, for the given seconds. CPU per sale is the host processes' user + system CPU over
the sales answered.
Floor: the same request path in one process without sockets (benchmarks/host_floor.py: decode,
group writer, service, store, encode) on an equally fresh database; its ratio says what the
sockets, the streams and the event loop cost.
Ceiling: the same clients against a plain asyncio server (also a subprocess) that answers every
frame with a canned copy of a real host response: the ceiling of this client and the loopback.
`--src NAME=PATH` (repeatable) measures the host and the floor of the steadypos sources at PATH
(e.g. another worktree's src) as NAME, interleaved, so that code versions share the machine's
busy moments; the first is the baseline. Without it: the sources this interpreter imports.

Each sale's frame is the terminal's real request (builders.sale: PIN block under the PIK, MAC
under the MAK), packed once per card; per sale only STAN and MAC are rewritten in place, so the
clients spend as little CPU as possible and leave it to the host being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_world import (
    Template,
    Terminal,
    bench_terminals,
    bench_world,
    env_for,
    fresh_db,
    sources,
)

from steadypos.host import process
from steadypos.host.process import steadypos_argv
from steadypos.protocol import builders
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import decode_payload, encode_frame
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.fields import Field60


# -- the ceiling server --------------------------------------------------------------------------
async def _canned_server(canned: bytes) -> None:
    """The ceiling: read LEN-prefixed frames, answer each with the same canned frame."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                n = int.from_bytes(await reader.readexactly(2), "big")
                await reader.readexactly(n)
                writer.write(canned)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


# -- the clients ------------------------------------------------------------------------------
@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    sample: bytes = b""
    answered: int = 0  # warm-up included


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(2)
    return head + await reader.readexactly(int.from_bytes(head, "big"))


async def sign_in(port: int, term: Terminal) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_frame(builders.sign_in(term.station, next(term.stans), term.batch)))
    resp = decode_payload((await _read_frame(reader))[2:])
    writer.close()
    assert resp.get(39) == "00", f"sign-in answered {resp.get(39)}"
    term.keys = unpack_key_block(term.tmk, bytes.fromhex(resp.get(62)))
    term.batch = Field60.parse(resp.get(60)).batch


async def client(port: int, term: Terminal, card: dict[str, str], amount: int,
                 start: float, end: float, res: Results) -> None:
    assert term.keys is not None
    sale = builders.sale(term.station, 1, term.batch, amount, Card.from_track2(card["track2"]),
                         card["pin"], term.keys.pik)
    sale.fields[64] = "00" * 8
    template = Template.of(encode_frame(sale))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < end:
            writer.write(template.with_stan(next(term.stans), term.keys.mak, term.alg))
            raw = await _read_frame(reader)
            done = time.perf_counter()
            rc = decode_payload(raw[2:]).get(39)
            res.answered += 1
            if now >= start:
                res.latencies.append(done - now)
                res.codes[rc] = res.codes.get(rc, 0) + 1
            if not res.sample:
                res.sample = raw
    finally:
        writer.close()


async def load(port: int, clients: int, seconds: float, warmup: float, amount: int,
               terms: list[Terminal]) -> Results:
    res = Results()
    cards = [c for c in bench_world(clients)["cards"] if str(c["pan"]).startswith("62220299")]
    start = time.perf_counter() + warmup
    end = start + seconds
    await asyncio.gather(*(client(port, terms[i % len(terms)], cards[i % len(cards)], amount,
                                  start, end, res) for i in range(clients)))
    return res


def cpu_seconds(pid: int) -> float:
    """User + system CPU so far of a process and its children (Linux; 0 without /proc): a
    --workers host is a supervisor and the workers it forked."""
    total = 0.0
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            _, rest = stat_file.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if stat_file.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class Run:
    name: str
    res: Results
    seconds: float
    cpu: float = 0.0
    ledger_ok: bool = True
    floor: list[dict[str, float]] = field(default_factory=list)  # host_floor.py's figures

    @property
    def rate(self) -> float:
        return self.res.codes.get("00", 0) / self.seconds

    def p(self, q: float) -> float:
        lat = sorted(self.res.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * q))] * 1000 if lat else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.res.answered * 1e6 if self.res.answered else 0.0


def run_host(name: str, db: str | None, workers: int, args: argparse.Namespace,
             src: str | None) -> Run:
    """One measured run of `steadypos host` on a fresh database (SQLite when db is None)."""
    terms = bench_terminals(bench_world(args.clients))
    extra = ["--workers", str(workers)] if workers != 1 else []
    with fresh_db(db, args.clients, env_for(src)) as (url, keys):
        proc, _, port = process.start(steadypos_argv(
            "host", "--db", url, "--keys", keys, "--port", "0", *extra,
            "--log-file", f"{keys}.log"), env=env_for(src))
        try:
            for term in terms:
                asyncio.run(sign_in(port, term))
            cpu0 = cpu_seconds(proc.pid)
            res = asyncio.run(load(port, args.clients, args.seconds, args.warmup,
                                   args.amount, terms))
            cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            process.stop(proc)
        check = subprocess.run(steadypos_argv("ledger", "check", "--db", url),
                               capture_output=True, text=True, env=env_for(src))
    return Run(name, res, args.seconds, cpu, check.returncode == 0)


def run_floor(db: str | None, args: argparse.Namespace, src: str | None) -> dict[str, float]:
    """The floor (host_floor.py) of the sources under test, on a fresh database."""
    with fresh_db(db, args.clients, env_for(src)) as (url, keys):
        out = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("host_floor.py")), "--db", url,
             "--keys", keys, "--clients", str(args.clients), "--seconds", str(args.seconds),
             "--warmup", str(args.warmup)], check=True, capture_output=True, text=True,
            env=env_for(src))
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_ceiling(args: argparse.Namespace, sample: bytes) -> Run:
    terms = bench_terminals(bench_world(args.clients))
    proc, _, port = process.start([sys.executable, __file__, "--canned-server", sample.hex()])
    try:
        for term in terms:  # keys of its own: the canned answer's MAC is not checked
            term.keys = WorkingKeys.fresh()
        res = asyncio.run(load(port, args.clients, args.seconds, args.warmup, args.amount,
                               terms))
    finally:
        process.stop(proc)
    return Run("ceiling", res, args.seconds)


def _spread(values: list[float], fmt: str) -> str:
    """min / median / max."""
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values),
                                               max(values)))


def summary(runs: list[Run], base: float) -> None:
    rates = [r.rate for r in runs]
    floors = [f for r in runs for f in r.floor[:1]]
    print(f"{runs[0].name:28} sales/s {_spread(rates, '.0f'):>20}   "
          f"p50 ms {_spread([r.p(0.5) for r in runs], '.1f'):>16}   "
          f"p99 ms {_spread([r.p(0.99) for r in runs], '.1f'):>16}   "
          + (f"CPU us/sale {_spread([r.cpu_us for r in runs], '.0f')}   " if runs[0].cpu else "")
          + f"x baseline {statistics.median(rates) / base:.2f}"
          + ("" if all(r.ledger_ok for r in runs) else "   LEDGER CHECK FAILED"))
    if floors:
        ratios = [r.rate * f["seconds"] / f["sales"] for r in runs for f in r.floor[:1]]
        print(f"{'':28} floor   {_spread([f['sales'] / f['seconds'] for f in floors], '.0f'):>20}"
              f"   p50 ms {_spread([f['p50'] for f in floors], '.1f'):>16}   "
              f"p99 ms {_spread([f['p99'] for f in floors], '.1f'):>16}   "
              f"CPU us/sale {_spread([f['cpu'] / f['sales'] * 1e6 for f in floors], '.0f')}   "
              f"host / floor {_spread(ratios, '.2f')}")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--amount", type=int, default=1, help="fen per sale")
    ap.add_argument("--db", help="the measured host's database URL (postgresql://...); "
                                 "default: a fresh SQLite file")
    ap.add_argument("--workers", type=int, default=1, help="host processes (PostgreSQL)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (min/median/max)")
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="steadypos sources to measure (repeatable; the first is the baseline)")
    ap.add_argument("--no-floor", action="store_true", help="skip the in-process floor")
    ap.add_argument("--canned-server", metavar="HEX", help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = _args()
    if args.canned_server:
        asyncio.run(_canned_server(bytes.fromhex(args.canned_server)))
        return
    versions = sources(args.src)
    kind = ("PostgreSQL" if args.db.startswith("postgres") else "db") if args.db else "SQLite"
    # (row name, sources, database, workers): with --db, the first sources on SQLite come first.
    rows = [(f"{name}: {kind} x{args.workers}", src, args.db, args.workers)
            for name, src in versions]
    if args.db:
        rows.insert(0, (f"{versions[0][0]}: baseline SQLite x1", versions[0][1], None, 1))
    table: list[list[Run]] = [[] for _ in rows]
    ceiling: list[Run] = []
    for _ in range(args.repeat):  # interleaved, so that a busy moment of the machine is shared
        for runs, (name, src, db, workers) in zip(table, rows, strict=True):
            runs.append(run_host(name, db, workers, args, src))
            if not args.no_floor:
                runs[-1].floor.append(run_floor(db, args, src))
        ceiling.append(run_ceiling(args, table[0][-1].res.sample))
    print(f"{args.clients} clients, {args.seconds:g} s each, {args.repeat} run(s), "
          f"{os.cpu_count()} CPUs, durable commits (SQLite synchronous=FULL; PostgreSQL "
          "synchronous_commit as the server has it); min / median / max")
    base = statistics.median(r.rate for r in table[0])
    for runs in [*table, ceiling]:
        summary(runs, base)


if __name__ == "__main__":
    main()
