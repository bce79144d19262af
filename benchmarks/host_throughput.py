"""How many durable sales a second the host takes, against the ceiling of the same clients.

    .venv/bin/python benchmarks/host_throughput.py [--clients 32] [--seconds 10]

Run 1: `steadypos host` in a subprocess on a fresh temporary database seeded with the demo data
(SQLite, WAL, synchronous=FULL). K asyncio connections in this process sign in (once per demo
terminal: a sign-in re-keys its terminal, so a terminal's connections share its keys) and send
sales of 1 fen, each with a PIN, one at a time per connection, for the given seconds.
Run 2: the same clients against a plain asyncio server (also a subprocess) that answers every
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
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import iso8583

from steadypos.host import process
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.codec import decode_payload, encode_frame
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.fields import Field60
from steadypos.protocol.frame import PREFIX_LEN
from steadypos.protocol.spec import SPEC

DEMO = demo_data()


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

    def with_stan(self, stan: int, mak: bytes) -> bytes:
        self.frame[self.stan_at:self.stan_at + 3] = bytes.fromhex(f"{stan:06d}")
        # The terminal's MAC (x919, the demo terminals' default) over MTI .. the byte before F64.
        self.frame[-8:] = mac.compute(mak, bytes(self.frame[PREFIX_LEN:-8]))
        return bytes(self.frame)


@dataclass
class Terminal:
    station: Station
    tmk: bytes
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
            writer.write(template.with_stan(next(term.stans), term.keys.mak))
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
    cards = [c for c in DEMO["cards"] if c["status"] == "active" and c["balance"] >= 100_000]
    start = time.perf_counter() + warmup
    end = start + seconds
    await asyncio.gather(*(client(port, terms[i % len(terms)], cards[i % len(cards)], amount,
                                  start, end, res) for i in range(clients)))
    return res


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux), 0 where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, res: Results, seconds: float) -> float:
    lat = sorted(res.latencies)
    approved = res.codes.get("00", 0)
    rate = approved / seconds
    p50 = lat[len(lat) // 2] * 1000 if lat else 0.0
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
    other = {k: v for k, v in res.codes.items() if k != "00"}
    print(f"{name:8} {rate:8.0f} sales/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
          f"({approved} approved{f', other: {other}' if other else ''})")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--amount", type=int, default=1, help="fen per sale")
    ap.add_argument("--canned-server", metavar="HEX", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.canned_server:
        asyncio.run(_canned_server(bytes.fromhex(args.canned_server)))
        return

    terms = [Terminal(Station(t["tid"], t["mid"]), bytes.fromhex(t["tmk"]))
             for t in DEMO["terminals"]]
    with tempfile.TemporaryDirectory(prefix="steadypos-bench-") as tmp:
        db = Path(tmp) / "host.db"
        proc, _, port = process.start(steadypos_argv("host", "--db", str(db), "--port", "0",
                                            "--seed-demo", "--log-file", str(db) + ".log"))
        try:
            for term in terms:
                asyncio.run(sign_in(port, term))
            cpu0 = cpu_seconds(proc.pid)
            host = asyncio.run(load(port, args.clients, args.seconds, args.warmup, args.amount,
                                    terms))
            host_cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            process.stop(proc)
        check = subprocess.run(steadypos_argv("ledger", "check", "--db", str(db)),
                               capture_output=True, text=True)
    proc, _, port = process.start([sys.executable, __file__, "--canned-server",
                                   host.sample.hex()])
    try:
        ceiling = asyncio.run(load(port, args.clients, args.seconds, args.warmup, args.amount,
                                   terms))
    finally:
        process.stop(proc)

    print(f"{args.clients} clients, {args.seconds:g} s, {os.cpu_count()} CPUs, "
          f"SQLite synchronous=FULL")
    h = report("host", host, args.seconds)
    c = report("ceiling", ceiling, args.seconds)
    print(f"host/ceiling {h / c:.2f}" if c else "ceiling: no answers")
    if host_cpu and host.answered:
        per_sale = host_cpu / host.answered
        # The host is one process bound by its GIL: about one core at most. On a shared machine it
        # gets less; this is the rate its own CPU cost allows when it has that core to itself.
        print(f"host CPU {per_sale * 1e6:.0f} us per sale, "
              f"{host_cpu / (args.seconds + args.warmup):.2f} cores used "
              f"(one whole core: {1 / per_sale:.0f} sales/s)")
    print("ledger check: " + ("balanced" if check.returncode == 0 else "FAILED\n" + check.stdout))


if __name__ == "__main__":
    main()
