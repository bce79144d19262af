"""Ingest over NATS JetStream (the local server): the API publishes heartbeats and log uploads,
two `steadypos tms worker` processes share the durable consumers; one is killed (SIGKILL)
mid-stream and still no heartbeat or log is lost or stored twice."""

from __future__ import annotations

import asyncio
import secrets
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select
from tmskit import DeviceApi, Tms, active

from steadypos.host import process
from steadypos.tms.bus import Names, Publisher, Worker
from steadypos.tms.fleet_models import Heartbeat, LogUpload, SessionCount
from steadypos.tms.schemas.telemetry import HeartbeatIn
from steadypos.tms.services.logs import gzip_lines

NATS_URL = "nats://127.0.0.1:4222"
TERMINALS, BEATS = 40, 25  # 1000 heartbeats through the bus
LOGS = 13  # log uploads: 3 through the API, 5 among the heartbeats before the kill, 5 after


def nats_reason() -> str | None:
    async def quiet(exc: Exception) -> None:
        pass  # the reason below says it once

    async def probe() -> None:
        # No reconnecting: with it nats-py retries an absent server for ever instead of failing.
        nc = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False,
                                error_cb=quiet)
        await nc.jetstream().account_info()
        await nc.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), 10))
    except Exception as exc:  # noqa: BLE001 - any failure means: no JetStream here
        return f"no NATS JetStream at {NATS_URL}: {exc or 'no answer within 10 s'}"
    return None


@pytest.fixture(scope="module")
def tms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tms]:
    reason = nats_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("tms")
    tms = Tms.start(str(root / "host.db"), root / "ca", "sqlite")
    yield tms
    tms.ctx.engine.dispose()


def start_worker(db: str, names: Names) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(process.steadypos_argv(
        "tms", "worker", "--db", db, "--bus", NATS_URL, "--bus-prefix", names.prefix,
        "--batch", "50", "--ack-wait", "2"), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready and proc.stdout.readline().startswith(b"worker ready"), "worker did not start"
    return proc


def count(tms: Tms, what: object) -> int:
    with tms.ctx.sessions() as db:
        return int(db.scalar(sql_select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


def wait_for(tms: Tms, what: object, n: int, timeout: float = 90) -> int:
    end = time.monotonic() + timeout
    while (got := count(tms, what)) < n and time.monotonic() < end:
        time.sleep(0.3)
    return got


def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(tms: Tms) -> None:
    names = Names(f"t{secrets.token_hex(4)}")
    db = str(tms.ctx.settings.db.sqlite_path)
    fleet = active(tms, tms.merchant(), TERMINALS)
    bus = Publisher(NATS_URL, names)
    tms.ctx.bus = bus
    workers = [start_worker(db, names), start_worker(db, names)]
    try:
        # Through the API: 202 once JetStream has it; the API stores nothing itself.
        tid, token = fleet[0]
        device = DeviceApi(tms.client, token)
        t0 = datetime.now(UTC) - timedelta(hours=2)
        answer = device.call("POST", "/heartbeats", {
            "tid": tid, "ts": t0.isoformat(), "app_version": "1.0.0", "params_version": 0,
            "health": {"battery_pct": 50}, "sessions": {"1.0.0": {"started": 3, "crashed": 1}}})
        assert answer["actions"] == ["upload_logs"]
        owners = [tid] * 3 + [t for t, _ in fleet[3:LOGS]]  # a terminal uploads its own log
        uploads = [gzip_lines([{"ts": "2026-12-01T10:00:00.000Z", "tid": t, "type": "app",
                                "event": "start", "app_version": f"1.0.{n}"}])
                   for n, t in enumerate(owners)]
        for raw in uploads[:3]:
            device.request("POST", f"/terminals/{tid}/logs", raw, "application/gzip")
        # The rest straight onto the bus, as many API processes would; a worker dies meanwhile.
        beats = [HeartbeatIn(tid=t, ts=t0 + timedelta(seconds=1 + n), app_version="1.0.0",
                             params_version=0, health={"battery_pct": 80},
                             sessions={"1.0.0": {"started": 2, "crashed": 0}})
                 for n in range(BEATS) for t, _ in fleet]
        half = len(beats) // 2
        for n, hb in enumerate(beats[:half]):
            bus.heartbeat(hb)
            if n % 100 == 0:  # log uploads in the stream among the heartbeats
                bus.log(owners[3 + n // 100], uploads[3 + n // 100])
        assert wait_for(tms, Heartbeat, 100, 60) >= 100
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        assert workers[0].returncode == -signal.SIGKILL
        for n, hb in enumerate(beats[half:]):
            bus.heartbeat(hb)
            if n % 100 == 0:
                bus.log(owners[8 + n // 100], uploads[8 + n // 100])
        for hb in beats[:20]:
            bus.heartbeat(hb)  # a publisher's retry: dropped by JetStream's duplicate window
        bus.log(owners[3], uploads[3])  # an upload sent twice: stored once
        total = len(beats) + 1
        assert wait_for(tms, Heartbeat, total) == total
        assert wait_for(tms, LogUpload, LOGS) == LOGS
        time.sleep(3)  # past ack_wait: anything redelivered has been handled again
        assert count(tms, Heartbeat) == total
        assert count(tms, LogUpload) == LOGS
        with tms.ctx.sessions() as s:
            started = s.scalar(sql_select(func.sum(SessionCount.started)))
            crashed = s.scalar(sql_select(func.sum(SessionCount.crashed)))
        assert (started, crashed) == (3 + 2 * len(beats), 1)
    finally:
        tms.ctx.bus = None
        for proc in workers:
            process.stop(proc)
        bus.close()


def test_a_corrupt_upload_is_refused_before_the_bus(tms: Tms) -> None:
    names = Names(f"t{secrets.token_hex(4)}")
    tms.ctx.bus = bus = Publisher(NATS_URL, names)
    try:
        tid, token = active(tms, tms.merchant())[0]
        r = tms.client.post(f"/api/v1/terminals/{tid}/logs", content=b"\x1f\x8bnot really",
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/gzip"})
        assert r.status_code == 422 and "corrupt gzip" in r.json()["detail"]
    finally:
        tms.ctx.bus = None
        bus.close()


def test_a_log_whose_object_another_worker_deleted_does_not_stop_the_worker() -> None:
    # Past ack_wait (a slow batch) JetStream hands a log to a second worker while the first
    # still works on it; both store it (idempotent by sha256) and the second delete finds nothing.
    reason = nats_reason()
    if reason:
        pytest.skip(reason)
    names = Names(f"t{secrets.token_hex(4)}")
    bus = Publisher(NATS_URL, names)
    digest = bus.log("T0000001", b"one upload")
    logs: list[bytes] = []
    beats: list[bytes] = []

    def handle_log(tid: str, raw: bytes) -> None:
        bus._run(bus._store.delete(f"{tid}/{digest}"))  # the other worker, done meanwhile
        logs.append(raw)

    def handle_beats(raw: list[bytes]) -> int:
        beats.extend(raw)
        return len(raw)

    async def scenario() -> None:
        worker = Worker(NATS_URL, handle_beats, handle_log, names)
        task = asyncio.create_task(worker.run())
        hb = HeartbeatIn(tid="T0000001", ts=datetime.now(UTC), app_version="1.0.0",
                         params_version=0, health={}, sessions={})
        for _ in range(100):
            if logs and not beats:
                await asyncio.to_thread(bus.heartbeat, hb)
            if beats or task.done():
                break
            await asyncio.sleep(0.1)
        worker.stopping.set()
        await asyncio.wait_for(task, 10)  # raises what stopped the worker, if anything did

    try:
        asyncio.run(scenario())
    finally:
        bus.close()
    assert logs == [b"one upload"] and len(beats) == 1
