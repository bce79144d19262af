"""Heartbeats and log uploads over NATS JetStream, for fleets beyond one machine: the API publishes
(and answers 202 once JetStream has the message on disk), `steadypos tms worker` processes, any
number at once, pull from one durable consumer each for heartbeats and logs (a consumer group),
store a batch in one transaction and acknowledge only after the commit. A worker killed
mid-batch leaves its messages unacknowledged: JetStream hands them to another worker after
`ack_wait` (so does a batch whose store failed, e.g. SQLite busy: the worker lives on), and
the store's keys (a heartbeat is its terminal and time, an upload its terminal and sha256)
make a redelivered message change nothing. Log bodies travel in an object store
bucket (a message stays small); the message names the object."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.js.api import ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from pydantic import ValidationError

log = logging.getLogger("steadypos.tms")
T = TypeVar("T")
ACK_WAIT_S = 10.0


@dataclass(frozen=True)
class Names:
    """The stream, subjects, consumers and bucket of one TMS (`prefix` keeps tests apart)."""

    prefix: str = "tms"

    @property
    def stream(self) -> str:
        return f"{self.prefix.upper()}_INGEST"

    @property
    def heartbeats(self) -> str:
        return f"{self.prefix}.heartbeats"

    @property
    def logs(self) -> str:
        return f"{self.prefix}.logs"

    @property
    def bucket(self) -> str:
        return f"{self.prefix}-logs"


async def _setup(url: str, names: Names) -> tuple[Any, Any]:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1)
    js = nc.jetstream()
    config = StreamConfig(name=names.stream, subjects=[names.heartbeats, names.logs],
                          storage=StorageType.FILE, duplicate_window=120)
    try:
        await js.stream_info(names.stream)
    except NotFoundError:
        await js.add_stream(config)
    return nc, js


class Publisher:
    """The API's side: its own event loop in a thread, so the sync routes can wait for the
    publish acknowledgement."""

    def __init__(self, url: str, names: Names = Names()) -> None:
        self.names = names
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="tms-bus", daemon=True).start()
        self._nc, self._js = self._run(_setup(url, names))
        self._store = self._run(self._js.create_object_store(names.bucket))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def heartbeat(self, hb: Any) -> None:
        """Publish one heartbeat (a `HeartbeatIn`); JetStream drops a repeat of the same
        terminal and time within its duplicate window."""
        self._run(self._js.publish(self.names.heartbeats, hb.model_dump_json().encode(),
                                   headers={"Nats-Msg-Id": f"hb:{hb.tid}:{hb.ts.isoformat()}"}))

    def log(self, tid: str, raw: bytes) -> str:
        """Put a checked upload in the bucket and announce it; its sha256."""
        digest = hashlib.sha256(raw).hexdigest()
        name = f"{tid}/{digest}"
        self._run(self._store.put(name, raw))
        self._run(self._js.publish(self.names.logs, json.dumps(
            {"tid": tid, "sha256": digest, "object": name}).encode(),
            headers={"Nats-Msg-Id": f"log:{name}"}))
        return digest

    def close(self) -> None:
        self._run(self._nc.drain())
        self._loop.call_soon_threadsafe(self._loop.stop)


class Worker:
    """One member of the consumer group: heartbeats in batches, logs one by one."""

    def __init__(self, url: str, handle_beats: Callable[[list[bytes]], int],
                 handle_log: Callable[[str, bytes], None], names: Names = Names(),
                 batch: int = 200, ack_wait_s: float = ACK_WAIT_S) -> None:
        self.url, self.names, self.batch, self.ack_wait_s = url, names, batch, ack_wait_s
        self.handle_beats, self.handle_log = handle_beats, handle_log
        self.stored = 0
        self.stopping = asyncio.Event()

    async def _subscribe(self, js: Any, subject: str, durable: str) -> Any:
        config = ConsumerConfig(durable_name=durable, ack_wait=self.ack_wait_s,
                                max_ack_pending=20_000, filter_subject=subject)
        return await js.pull_subscribe(subject, durable, stream=self.names.stream,
                                       config=config)

    async def run(self, ready: Callable[[], None] | None = None) -> None:
        nc, js = await _setup(self.url, self.names)
        store = await js.create_object_store(self.names.bucket)
        beats = await self._subscribe(js, self.names.heartbeats, f"{self.names.prefix}-beats")
        logs = await self._subscribe(js, self.names.logs, f"{self.names.prefix}-logs")
        if ready is not None:
            ready()
        try:
            while not self.stopping.is_set():
                await self._beats(beats)
                await self._logs(logs, store)
        finally:
            await nc.close()

    async def _fetch(self, sub: Any, n: int, timeout: float) -> list[Any]:
        try:
            return list(await sub.fetch(n, timeout=timeout))
        except (TimeoutError, nats.errors.TimeoutError):
            return []

    async def _beats(self, sub: Any) -> None:
        msgs = await self._fetch(sub, self.batch, 0.5)
        if not msgs:
            return
        # Stored and committed first, acknowledged after: a kill in between redelivers.
        try:
            self.stored += await asyncio.to_thread(self.handle_beats, [m.data for m in msgs])
        except Exception as exc:  # noqa: BLE001 - e.g. SQLite busy: the batch comes back
            log.warning("heartbeat batch left for redelivery: %s", str(exc).splitlines()[0])
            return  # unacknowledged: JetStream hands it out again after ack_wait
        for msg in msgs:
            await msg.ack()

    async def _logs(self, sub: Any, store: Any) -> None:
        for msg in await self._fetch(sub, 10, 0.1):
            try:
                ref = json.loads(msg.data)
                got = await store.get(ref["object"])
            except (ValueError, KeyError, NotFoundError) as exc:
                log.warning("log message dropped: %s", exc)
                await msg.term()
                continue
            try:
                await asyncio.to_thread(self.handle_log, ref["tid"], got.data)
            except Exception as exc:  # noqa: BLE001 - as for heartbeats: redelivered
                log.warning("log upload left for redelivery: %s", str(exc).splitlines()[0])
                continue
            await msg.ack()
            # Another worker handed the same log past ack_wait may have deleted it already.
            with contextlib.suppress(NotFoundError):
                await store.delete(ref["object"])


def heartbeats_from(raw: list[bytes]) -> list[Any]:
    """The well-formed heartbeats of a batch (the API checked them; a bad one is logged)."""
    from steadypos.tms.schemas.telemetry import HeartbeatIn

    out = []
    for data in raw:
        try:
            out.append(HeartbeatIn.model_validate_json(data))
        except ValidationError as exc:
            log.warning("heartbeat message dropped: %s", str(exc).splitlines()[0])
    return out


def worker_for(ctx: Any, url: str, names: Names = Names(), batch: int = 200,
               ack_wait_s: float = ACK_WAIT_S) -> Worker:
    """A worker that stores into `ctx`'s database (a TmsContext)."""
    from steadypos.tms.errors import TmsError
    from steadypos.tms.models import FleetTerminal
    from steadypos.tms.services import logs, telemetry

    def beats(raw: list[bytes]) -> int:
        with ctx.sessions() as db:
            return telemetry.store(db, ctx, heartbeats_from(raw))

    def upload(tid: str, raw: bytes) -> None:
        with ctx.sessions() as db:
            term = db.get(FleetTerminal, tid)
            if term is None:
                log.warning("log of unknown terminal %s dropped", tid)
                return
            try:
                logs.accept(db, term, raw)
            except TmsError as exc:
                log.warning("log of %s dropped: %s", tid, exc.detail)

    return Worker(url, beats, upload, names, batch, ack_wait_s)
