"""What TLS (pos-link-v1.1 §8) costs a terminal: echo tests over the plain and the TLS listener of
one host.

    .venv/bin/python benchmarks/tls_link.py [--rounds 300]

`steadypos host` runs in a subprocess with both listeners, certificates from a fresh test CA in
a temporary folder. An echo test (0820/0830, no MAC, nothing stored) isolates the transport.
Two cases, each plain and TLS in turn (the order swapped every round, so both see the same
background load):

- "new connection": connect (TLS: handshake, and in TLS 1.3 the wait for the host's verdict on
  the terminal's certificate), one echo, close: what a terminal that dials per request pays;
- "kept connection": one echo on a connection that stays up.

The figures are the median and the p99 (nearest rank) in milliseconds and the ratio TLS/plain.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from steadypos.host import process
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv
from steadypos.progress import progress
from steadypos.protocol import builders, certs, tls
from steadypos.protocol.link import Connection

T = demo_data()["terminals"][0]
STATION = builders.Station(T["tid"], T["mid"])


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.99 * len(ordered)) - 1)]


def second_line(proc: subprocess.Popen[bytes]) -> bytes:
    assert proc.stdout is not None
    return proc.stdout.readline()


def timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pki = certs.write_test_pki(Path(tmp) / "pki", [STATION.tid])
        proc, host, port = process.start(steadypos_argv(
            "host", "--db", str(Path(tmp) / "host.db"), "--seed-demo", "--port", "0",
            "--tls-port", "0", "--tls-cert", str(pki.host_cert), "--tls-key", str(pki.host_key),
            "--client-ca", str(pki.ca_cert)), stderr=subprocess.DEVNULL)
        try:
            _, tls_port, _ = process.parse_ready(second_line(proc))
            ctx = tls.client_context(pki.ca_cert, pki.cert(STATION.tid), pki.key(STATION.tid))
            run(args.rounds, host, port, tls_port, ctx)
        finally:
            process.stop(proc)


def run(rounds: int, host: str, port: int, tls_port: int, ctx: tls.ssl.SSLContext) -> None:
    links = {"plain": (port, None), "tls": (tls_port, ctx)}
    stans = iter(range(1, 10**6))

    def echo(conn: Connection) -> None:
        assert conn.exchange(builders.echo(STATION, next(stans), 1)).get(39) == "00"

    def dial(name: str) -> None:
        p, c = links[name]
        with Connection(host, p, ssl_context=c) as conn:
            echo(conn)

    kept = {name: Connection(host, p, ssl_context=c) for name, (p, c) in links.items()}
    times: dict[tuple[str, str], list[float]] = {}
    with progress("echo tests", rounds + 20, "rounds") as meter:
        for i in range(rounds + 20):
            meter.advance()
            order = ("plain", "tls") if i % 2 else ("tls", "plain")
            for name in order:
                new = timed(functools.partial(dial, name))
                same = timed(functools.partial(echo, kept[name]))
                if i >= 20:  # warm-up rounds are not counted
                    times.setdefault(("new connection", name), []).append(new)
                    times.setdefault(("kept connection", name), []).append(same)
    for conn in kept.values():
        conn.close()
    print(f"{rounds} echo tests per case and transport; milliseconds")
    print(f"{'case':<16} {'transport':<9} {'median':>8} {'p99':>8}")
    for case in ("new connection", "kept connection"):
        medians = {}
        for name in ("plain", "tls"):
            values = times[(case, name)]
            medians[name] = statistics.median(values)
            print(f"{case:<16} {name:<9} {medians[name]:>8.2f} {p99(values):>8.2f}")
        print(f"{case:<16} {'tls/plain':<9} {medians['tls'] / medians['plain']:>8.2f}")


if __name__ == "__main__":
    main()
