"""How fast the TMS takes heartbeats from a large fleet, against a baseline of the same clients.

    .venv/bin/python benchmarks/tms_heartbeats.py [--terminals 10000] [--clients 16]
        [--backend sqlite|postgresql|both] [--bus nats://127.0.0.1:4222] [--workers 2]

A fleet of simulated terminals (rows made directly, each with its own terminal token) is given
to `steadypos tms serve` in a subprocess (SQLite: a fresh file, WAL, synchronous=FULL;
PostgreSQL: a fresh schema of database `test`). K client threads, each on one keep-alive HTTP
connection, send one heartbeat per terminal (health readings, one app version's sessions).
Baseline: the same clients and terminals sending a heartbeat the API refuses (a reading out of
range: 422, after the token check, nothing stored): the cost of HTTP, auth and validation.
Printed: heartbeats/s, p50/p99 latency, the ratio to the baseline, and database rows written
per heartbeat (rows inserted into the TMS's tables, plus the terminal's row updated), and how
many 503 answers (the database busy past its timeout) were sent again, as a terminal does.

With --bus the API publishes to NATS JetStream and `--workers` `steadypos tms worker`
processes store: printed are the API's rate and the end-to-end rate until every heartbeat is in
the database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import Engine, func, insert, select

from steadypos.host import process
from steadypos.tms import db as tms_db
from steadypos.tms import security
from steadypos.tms.fleet_models import Heartbeat, SessionCount
from steadypos.tms.models import Application, FleetTerminal, Merchant, Token, TokenKind

PG_URL = "postgresql://127.0.0.1:5432/test"
MID = "898600000000001"


def make_fleet(engine: Engine, n: int) -> list[tuple[str, str]]:
    """`n` active terminals of one merchant, with tokens: (TID, token) each."""
    tms_db.migrate(engine)
    fleet = [(f"{20_000_000 + i:08d}", security.new_token()) for i in range(n)]
    with engine.begin() as conn:
        app = conn.execute(insert(Application).values(
            legal_name="bench", licence_no="91310000MA1FL0000X", contact_name="x",
            contact_phone="13912345678", address="x", settlement_account="1",
            terminals_requested=n, status="approved", mid=MID,
            submitted_at=datetime.now(UTC)).returning(Application.id)).scalar_one()
        conn.execute(insert(Merchant).values(
            mid=MID, licence_no="91310000MA1FL0000X", application_id=app, legal_name="bench",
            contact_name="x", contact_phone="13912345678", address="x", settlement_account="1",
            created_at=datetime.now(UTC)))
        now = datetime.now(UTC)
        conn.execute(insert(FleetTerminal), [
            {"tid": tid, "mid": MID, "serial": f"SN{tid}", "brand": "PAX", "model": "A920",
             "firmware": "PayDroid 8.1", "mac_algorithm": "x919", "status": "active",
             "created_at": now, "activated_at": now, "assigned_version": 0,
             "params_flag": False, "params_push": False, "pending_reversals": 0}
            for tid, _ in fleet])
        conn.execute(insert(Token), [{"digest": security.digest(tok), "kind": TokenKind.TERMINAL,
                                      "tid": tid, "created_at": now} for tid, tok in fleet])
    return fleet


def body(tid: str, bad: bool) -> bytes:
    return json.dumps({
        "tid": tid, "ts": datetime.now(UTC).isoformat(), "app_version": "1.0.0",
        "params_version": 0, "health": {"battery_pct": 200 if bad else 71, "power": "ac",
                                        "cpu_temp_c": 48, "mem_free_mb": 300,
                                        "mem_total_mb": 1024, "signal_dbm": -80,
                                        "printer": "ok"},
        "sessions": {"1.0.0": {"started": 3, "crashed": 0}}}).encode()


BUSY: list[int] = []  # 503 answers (database busy), retried as a terminal does


def drive(port: int, fleet: list[tuple[str, str]], clients: int, bad: bool,
          expect: int) -> tuple[float, list[float]]:
    """Every terminal sends one heartbeat (again after a 503, as a terminal would, the wait
    counted in its latency); (seconds, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [fleet[i::clients] for i in range(clients)]

    def client(share: list[tuple[str, str]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, busy = [], 0
        for tid, token in share:
            started = time.perf_counter()
            payload = body(tid, bad)  # sent again unchanged: the same (tid, ts) is kept once
            while True:
                conn.request("POST", "/api/v1/heartbeats", payload,
                             {"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                if response.status != 503:
                    break
                busy += 1
                time.sleep(0.2)
            if response.status != expect:
                raise RuntimeError(f"heartbeat of {tid}: {response.status}")
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            BUSY.append(busy)

    threads = [threading.Thread(target=client, args=(s,)) for s in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                   for t in (Heartbeat, SessionCount))


def report(name: str, seconds: float, lat: list[float], n: int) -> float:
    lat = sorted(lat)
    rate = n / seconds
    print(f"  {name:<28} {rate:8.0f}/s   p50 {statistics.median(lat) * 1000:6.1f} ms   "
          f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:6.1f} ms")
    return rate


def wait_rows(engine: Engine, target: int, timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while rows(engine) < target and time.monotonic() < end:
        time.sleep(0.2)


def run(backend: str, args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="tms-bench-"))
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if backend == "sqlite":
        url = str(root / "host.db")
    else:
        schema = f"tms_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    engine = tms_db.make_engine(tms_db.DatabaseUrl.parse(url))
    fleet = make_fleet(engine, args.terminals)
    bus = ["--bus", args.bus, "--bus-prefix", f"b{secrets.token_hex(3)}"] if args.bus else []
    server, _, port = process.start(process.steadypos_argv(
        "tms", "serve", "--db", url, "--port", "0", "--ca-dir", str(root / "ca"), *bus))
    workers = [subprocess.Popen(process.steadypos_argv(
        "tms", "worker", "--db", url, "--bus", args.bus, "--bus-prefix", bus[3],
        "--batch", "500"), stdout=subprocess.DEVNULL) for _ in range(args.workers)] \
        if args.bus else []
    try:
        print(f"{backend}: {len(fleet)} terminals, {args.clients} clients"
              + (f", bus {args.bus} with {len(workers)} workers" if workers else ""))
        base = report("baseline (422, nothing kept)",
                      *drive(port, fleet, args.clients, True, 422), len(fleet))
        before = rows(engine)
        started = time.perf_counter()
        BUSY.clear()
        seconds, lat = drive(port, fleet, args.clients, False, 202)
        rate = report("heartbeats (202)", seconds, lat, len(fleet))
        print(f"  {'503 busy, sent again':<28} {sum(BUSY):8d}")
        if workers:
            wait_rows(engine, before + 2 * len(fleet))
            stored = len(fleet) / (time.perf_counter() - started)
            print(f"  {'stored by the workers':<28} {stored:8.0f}/s   (end to end)")
        written = (rows(engine) - before) / len(fleet)
        print(f"  ratio to the baseline: {rate / base:.2f}   database rows per heartbeat: "
              f"{written:.2f} inserted + 1 updated")
    finally:
        for proc in workers:
            process.stop(proc)
        process.stop(server, signal.SIGTERM)
        engine.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--bus", default=None, help="nats://127.0.0.1:4222")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        run(backend, args)


if __name__ == "__main__":
    main()

