"""The floor that host_throughput.py measures the host against: the host's own request path in one
process, without sockets, on a database that host_throughput.py prepared.

    python benchmarks/host_floor.py --db URL --keys PATH --clients 32 --seconds 4 [--warmup 1]
        [--profile OUT] [--sales N]

K asyncio tasks each sign in one bench terminal and send it sales, one at a time, as
host_throughput's clients do; each request goes the host's way from the frame's payload on
(decode_payload, the group writer with its service and store, encode_frame) but no socket, no
stream and no event-loop I/O. Prints one JSON line: sales, seconds, CPU seconds of the host path
(the process's CPU less what the clients spent packing their frames), latencies p50/p99 in ms.
--profile writes cProfile statistics of the loop thread and the writer thread together to OUT.
--sales N runs exactly N sales, with no warm-up and no time window, for counts that repeat
(instructions under `valgrind --tool=callgrind`: the difference of two runs of N1 and N2 sales,
over N2 - N1, is the instructions a sale; benchmarks/host_instructions.py does that).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from datetime import datetime

from bench_world import Template, Terminal, bench_terminals, bench_world

from steadypos import logs
from steadypos.host.secrets import open_keys
from steadypos.host.server import run
from steadypos.host.service import HostService
from steadypos.host.store import open_store
from steadypos.host.writer import GroupWriter
from steadypos.protocol import builders
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message, decode_payload, encode_frame
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.fields import Field60
from steadypos.protocol.frame import LEN_BYTES


async def through(writer: GroupWriter, frame: bytes) -> Message:
    """One request the host's way, from the frame's payload to the answer's frame."""
    resp = await writer.request(decode_payload(frame[LEN_BYTES:]))
    assert isinstance(resp, Message)
    encode_frame(resp)
    return resp


async def sign_in(writer: GroupWriter, term: Terminal) -> None:
    resp = await through(writer, encode_frame(
        builders.sign_in(term.station, next(term.stans), term.batch)))
    assert resp.get(39) == "00", f"sign-in answered {resp.get(39)}"
    term.keys = unpack_key_block(term.tmk, bytes.fromhex(resp.get(62)))
    term.batch = Field60.parse(resp.get(60)).batch


class Tally:
    """What the clients counted inside the measured window."""

    def __init__(self, start: float, end: float, sales: int | None = None) -> None:
        self.start, self.end = start, end
        self.left = sales  # sales still to send, when a count is given instead of a window
        self.latencies: list[float] = []
        self.client_cpu = 0.0  # packing frames: the clients' share, not the host's
        self.cpu0 = self.cpu1 = 0.0

    def more(self, now: float) -> bool:
        """Whether a client sends another sale (and counts it against a given number)."""
        if self.left is None:
            return now < self.end
        self.left -= 1
        return self.left >= 0


async def client(writer: GroupWriter, term: Terminal, card: dict[str, str], tally: Tally) -> None:
    assert term.keys is not None
    sale = builders.sale(term.station, 1, term.batch, 1, Card.from_track2(card["track2"]),
                         card["pin"], term.keys.pik)
    sale.fields[64] = "00" * 8
    template = Template.of(encode_frame(sale))
    while tally.more(now := time.perf_counter()):
        t0 = time.thread_time()
        frame = template.with_stan(next(term.stans), term.keys.mak, term.alg)
        packing = time.thread_time() - t0
        resp = await through(writer, frame)
        assert resp.get(39) == "00", f"sale answered {resp.get(39)}"
        if now >= tally.start:
            tally.latencies.append(time.perf_counter() - now)
            tally.client_cpu += packing


async def _window(tally: Tally) -> None:
    await asyncio.sleep(max(0.0, tally.start - time.perf_counter()))
    tally.cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, tally.end - time.perf_counter()))
    tally.cpu1 = time.process_time()


async def load(writer: GroupWriter, clients: int, seconds: float, warmup: float,
               sales: int | None = None) -> Tally:
    world = bench_world(clients)
    terms = bench_terminals(world)
    for term in terms:
        await sign_in(writer, term)
    cards = [c for c in world["cards"] if str(c["pan"]).startswith("62220299")]
    start = time.perf_counter() + (warmup if sales is None else 0.0)
    tally = Tally(start, start + seconds, sales)
    window = [_window(tally)] if sales is None else []
    tally.cpu0 = time.process_time()
    await asyncio.gather(*window, *(
        client(writer, terms[i % len(terms)], cards[i % len(cards)], tally)  # type: ignore[arg-type]
        for i in range(clients)))
    if sales is not None:  # no window: from the first sale to the last
        tally.cpu1, tally.end = time.process_time(), time.perf_counter()
    return tally


def _quantile(lat: list[float], q: float) -> float:
    lat = sorted(lat)
    return lat[min(len(lat) - 1, int(len(lat) * q))] * 1000 if lat else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--profile", help="write cProfile statistics (both threads) here")
    ap.add_argument("--sales", type=int, help="run exactly this many sales (no time window)")
    args = ap.parse_args()
    logs.setup(path=f"{args.keys}.floor.log")  # the host logs each request: so does its floor
    secrets = open_keys(args.keys)
    profiles = [cProfile.Profile(), cProfile.Profile()] if args.profile else []

    def service() -> HostService:  # the writer thread's own service, as host.app builds it
        if profiles:
            profiles[1].enable()
        return HostService(open_store(args.db, "FULL"), secrets, datetime.now)

    writer = GroupWriter(service)
    writer.start()
    try:
        if profiles:
            profiles[0].enable()
        # on the host's own event loop (server.run), so that only the sockets differ
        tally = run(load(writer, args.clients, args.seconds, args.warmup, args.sales))
        if profiles:
            profiles[0].disable()
    finally:
        writer.stop()
    if profiles:
        stats = pstats.Stats(profiles[0])
        stats.add(profiles[1])
        stats.dump_stats(args.profile)
    print(json.dumps({"sales": len(tally.latencies), "seconds": tally.end - tally.start,
                      "cpu": tally.cpu1 - tally.cpu0 - tally.client_cpu,
                      "p50": _quantile(tally.latencies, 0.5),
                      "p99": _quantile(tally.latencies, 0.99)}))


if __name__ == "__main__":
    main()
