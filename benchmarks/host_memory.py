"""Whether the host's memory stays bounded under sign-ins (pos-link-v1.1 §7: memory per terminal is
bounded by the number of terminals, never by the number of requests or sign-ins).

    .venv/bin/python benchmarks/host_memory.py [--sign-ins 50000] [--clients 8]

`steadypos host` runs in a subprocess on a fresh temporary database seeded with the demo data
(SQLite, WAL, synchronous=FULL, as shipped). Clients on loopback send 0800 sign-ins back to back:
first `--sign-ins` from one demo TID (T0000001), then as many from TIDs the host does not know
(each a different one). The host's resident set (VmRSS) is read after the first 1,000 sign-ins
(the baseline: interpreter, caches and SQLite warmed up), after the known TID's run and after the
strangers' run; the figures are the growth over the baseline. The goal: under 10 MB each.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from pathlib import Path

from steadypos.host import process
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv
from steadypos.progress import Meter, progress
from steadypos.protocol import builders
from steadypos.protocol.builders import Station
from steadypos.protocol.codec import decode_payload, encode_frame

DEMO = demo_data()
BASELINE_AFTER = 1_000
LIMIT_MB = 10.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _client(port: int, frames: list[bytes], codes: dict[str, int], meter: Meter) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for frame in frames:
            writer.write(frame)
            head = await reader.readexactly(2)
            body = await reader.readexactly(int.from_bytes(head, "big"))
            rc = decode_payload(body).get(39)
            codes[rc] = codes.get(rc, 0) + 1
            meter.advance()
    finally:
        writer.close()


async def burst(port: int, frames: list[bytes], clients: int, meter: Meter) -> dict[str, int]:
    codes: dict[str, int] = {}
    share = [frames[i::clients] for i in range(clients)]
    await asyncio.gather(*(_client(port, part, codes, meter) for part in share if part))
    return codes


def sign_ins(tids: list[str], mid: str) -> list[bytes]:
    stans = itertools.count(1)
    return [encode_frame(builders.sign_in(Station(tid, mid), next(stans) % 999_999 + 1, 1))
            for tid in tids]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sign-ins", type=int, default=50_000)
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()
    t1 = DEMO["terminals"][0]
    known = sign_ins([t1["tid"]] * args.sign_ins, t1["mid"])
    strangers = sign_ins([f"X{i:07d}" for i in range(args.sign_ins)], t1["mid"])
    with tempfile.TemporaryDirectory(prefix="steadypos-mem-") as tmp:
        db = Path(tmp) / "host.db"
        proc, _, port = process.start(steadypos_argv("host", "--db", str(db), "--port", "0",
                                                     "--seed-demo", "--log-file", f"{db}.log"))
        try:
            started = time.perf_counter()
            with progress("sign-ins", 2 * args.sign_ins, "sign-ins") as meter:
                codes = asyncio.run(burst(port, known[:BASELINE_AFTER], args.clients, meter))
                base = rss_mb(proc.pid)
                codes_known = asyncio.run(burst(port, known[BASELINE_AFTER:], args.clients,
                                                meter))
                after_known = rss_mb(proc.pid)
                codes_strangers = asyncio.run(burst(port, strangers, args.clients, meter))
            after_strangers = rss_mb(proc.pid)
            seconds = time.perf_counter() - started
        finally:
            process.stop(proc)
    for rc, n in codes.items():
        codes_known[rc] = codes_known.get(rc, 0) + n
    total = 2 * args.sign_ins
    print(f"{total:,} sign-ins in {seconds:.1f} s ({total / seconds:,.0f}/s), "
          f"{args.clients} clients, synchronous=FULL")
    print(f"  answers, {t1['tid']}: {codes_known}; unknown TIDs: {codes_strangers}")
    print(f"  host RSS after the first {BASELINE_AFTER:,}: {base:.1f} MB (baseline)")
    for what, mb in ((f"after {args.sign_ins:,} from {t1['tid']}", after_known),
                     (f"after {args.sign_ins:,} more from unknown TIDs", after_strangers)):
        grew = mb - base
        verdict = "ok" if grew < LIMIT_MB else f"OVER the {LIMIT_MB:.0f} MB goal"
        print(f"  {what}: {mb:.1f} MB, {grew:+.1f} MB over the baseline "
              f"(ratio {mb / base:.3f}): {verdict}")


if __name__ == "__main__":
    main()
