"""How many durable sales a second the host takes, against a baseline and the ceiling of the same
clients, in the same run.

    .venv/bin/python benchmarks/host_throughput.py [--clients 32] [--seconds 10]
        [--db postgresql://127.0.0.1:5432/test] [--workers 2] [--repeat 3]

Baseline: `steadypos host` in a subprocess on a fresh temporary database seeded with the demo data
(SQLite, WAL, synchronous=FULL), one process. Measured: the same on `--db` (a PostgreSQL URL
gets a fresh schema in that database, dropped after) with `--workers K` host processes; skipped
when --db is not given. K asyncio connections in this process sign in (once per demo
terminal: a sign-in re-keys its terminal, so a terminal's connections share its keys) and send
sales of 1 fen, each with a PIN, one at a time per connection, for the given seconds.
Ceiling: the same clients against a plain asyncio server (also a subprocess) that answers every
frame with a canned copy of a real host response: the ceiling of this client and the loopback.

Each sale's frame is the terminal's real request (builders.sale: PIN block under the PIK, MAC
under the MAK), packed once per card; per sale only STAN and MAC are rewritten in place, so the
clients spend as little CPU as possible and leave it to the host being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import iso8583
import psycopg

from steadypos.cards import track2_of
from steadypos.host import process
from steadypos.host.demo_data import DEMO_ISSUER_MK, demo_data, seed
from steadypos.host.process import steadypos_argv
from steadypos.host.secrets import open_keys
from steadypos.host.store import open_store
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.codec import decode_payload, encode_frame
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.fields import Field60
from steadypos.protocol.frame import PREFIX_LEN
from steadypos.protocol.spec import SPEC

DEMO = demo_data()


def _luhn(body: str) -> str:
    total = sum(sum(divmod(int(d) * (2 - i % 2), 10)) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def bench_world(clients: int) -> dict[str, list[dict[str, object]]]:
    """The demo world plus one terminal and one card for each client: a real terminal has one
    connection, and a card pays at one counter at a time (several host processes lock both)."""
    world = demo_data()
    mid = str(world["terminals"][0]["mid"])
    for i in range(clients):
        world["terminals"].append({"tid": f"B{i:07d}", "mid": mid, "tmk": f"{i:032X}",
                                   "mac": "x919"})
        pan = _luhn(f"62220299{i:07d}")
        world["cards"].append({"pan": pan, "expiry": "3012", "pin": "123456",
                               "track2": track2_of(pan, "3012"), "kind": "magstripe",
                               "status": "active", "balance": 10**9})
    return world


# -- the two servers --------------------------------------------------------------------------
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
class Template:
    """A packed sale whose STAN and MAC are rewritten per send."""

    frame: bytearray
    stan_at: int

    @classmethod
    def of(cls, frame: bytes) -> Template:
        _, enc = iso8583.decode(frame[PREFIX_LEN:], SPEC)
        at = PREFIX_LEN
        for key in ["t", "p"] + sorted((k for k in enc if k.isdigit()), key=int):
            if key == "11":
                return cls(bytearray(frame), at + len(enc[key]["len"]))
            at += len(enc[key]["len"]) + len(enc[key]["data"])
        raise ValueError("no STAN in the template")

    def with_stan(self, stan: int, mak: bytes, alg: mac.MacAlgorithm) -> bytes:
        self.frame[self.stan_at:self.stan_at + 3] = bytes.fromhex(f"{stan:06d}")
        # The terminal's registered MAC over MTI .. the byte before F64.
        self.frame[-8:] = mac.compute(mak, bytes(self.frame[PREFIX_LEN:-8]), alg)
        return bytes(self.frame)


@dataclass
class Terminal:
    station: Station
    tmk: bytes
    alg: mac.MacAlgorithm
    keys: WorkingKeys | None = None
    batch: int = 1
    stans: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


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

    @property
    def rate(self) -> float:
        return self.res.codes.get("00", 0) / self.seconds

    def p(self, q: float) -> float:
        lat = sorted(self.res.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * q))] * 1000 if lat else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.res.answered * 1e6 if self.res.answered else 0.0


def _pg_schema(url: str) -> tuple[str, str]:
    """A fresh schema in the PostgreSQL database of `url`, and the URL that uses it."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"


def _drop_pg_schema(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def run_host(name: str, db: str | None, workers: int, args: argparse.Namespace,
             terms: list[Terminal]) -> Run:
    """One measured run of `steadypos host` on a fresh database (SQLite when db is None)."""
    with tempfile.TemporaryDirectory(prefix="steadypos-bench-") as tmp:
        schema = None
        if db is None:
            url = str(Path(tmp) / "host.db")
        else:
            schema, url = _pg_schema(db)
        extra = ["--workers", str(workers)] if workers != 1 else []
        try:
            store = open_store(url)
            seed(store, open_keys(f"{tmp}/host.keys", DEMO_ISSUER_MK),
                 bench_world(args.clients))  # type: ignore[arg-type]
            store.close()
            proc, _, port = process.start(steadypos_argv(
                "host", "--db", url, "--keys", f"{tmp}/host.keys", "--port", "0", *extra,
                "--log-file", f"{tmp}/host.log"))
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
                                   capture_output=True, text=True)
        finally:
            if schema is not None and db is not None:
                _drop_pg_schema(db, schema)
    return Run(name, res, args.seconds, cpu, check.returncode == 0)


def run_ceiling(args: argparse.Namespace, terms: list[Terminal], sample: bytes) -> Run:
    proc, _, port = process.start([sys.executable, __file__, "--canned-server", sample.hex()])
    try:
        res = asyncio.run(load(port, args.clients, args.seconds, args.warmup, args.amount,
                               terms))
    finally:
        process.stop(proc)
    return Run("ceiling", res, args.seconds)


def _spread(values: list[float], fmt: str) -> str:
    """min / median / max."""
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values),
                                               max(values)))


def summary(runs: list[Run], baseline: list[Run]) -> None:
    rates = [r.rate for r in runs]
    base = statistics.median(r.rate for r in baseline)
    print(f"{runs[0].name:24} sales/s {_spread(rates, '.0f'):>22}   "
          f"p50 ms {_spread([r.p(0.5) for r in runs], '.1f'):>16}   "
          f"p99 ms {_spread([r.p(0.99) for r in runs], '.1f'):>16}   "
          + (f"CPU us/sale {_spread([r.cpu_us for r in runs], '.0f')}   " if runs[0].cpu else "")
          + f"x baseline {statistics.median(rates) / base:.2f}"
          + ("" if all(r.ledger_ok for r in runs) else "   LEDGER CHECK FAILED"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--amount", type=int, default=1, help="fen per sale")
    ap.add_argument("--db", help="the measured host's database URL (postgresql://...)")
    ap.add_argument("--workers", type=int, default=1, help="host processes for --db")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (min/median/max)")
    ap.add_argument("--canned-server", metavar="HEX", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.canned_server:
        asyncio.run(_canned_server(bytes.fromhex(args.canned_server)))
        return

    terms = [Terminal(Station(str(t["tid"]), str(t["mid"])), bytes.fromhex(str(t["tmk"])),
                      mac.MacAlgorithm(t["mac"])) for t in bench_world(args.clients)["terminals"]
             if str(t["tid"]).startswith("B")]
    table: list[list[Run]] = [[], [], []]
    for _ in range(args.repeat):  # interleaved, so that a busy moment of the machine is shared
        table[0].append(run_host("baseline SQLite x1", None, 1, args, terms))
        if args.db:
            kind = "PostgreSQL" if args.db.startswith("postgres") else "db"
            table[1].append(run_host(f"{kind} x{args.workers}", args.db, args.workers, args,
                                     terms))
        table[2].append(run_ceiling(args, terms, table[0][-1].res.sample))
    print(f"{args.clients} clients, {args.seconds:g} s each, {args.repeat} run(s), "
          f"{os.cpu_count()} CPUs, durable commits (SQLite synchronous=FULL; PostgreSQL "
          "synchronous_commit as the server has it); min / median / max")
    for runs in table:
        if runs:
            summary(runs, table[0])


if __name__ == "__main__":
    main()
