"""The fault proxy: connects each client to the upstream host and passes whole pos-link-v1 frames
(2-byte big-endian length + payload) both ways through the toxics in force; seeded, switchable."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import random
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from steadypos.chaos.acts import APPLY, FramePlan
from steadypos.chaos.control import start_control
from steadypos.chaos.toxics import DOWNSTREAM, KINDS, UPSTREAM, Toxic
from steadypos.protocol.frame import read_frame

__all__ = ["FaultProxy", "Injection", "Toxic", "ToxicExists"]

log = logging.getLogger("steadypos.chaos")

START_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
EVENTS_KEPT = 10_000


class ToxicExists(ValueError):
    """A toxic of that name is already in force."""


@dataclass(frozen=True)
class Injection:
    """One toxic applied to one frame."""

    seq: int  # 1, 2, ... over the proxy's life
    name: str
    kind: str
    direction: str
    frame: int  # which frame of that direction (over all connections, from 1) it hit
    detail: str


class _Armed:
    """A toxic in force: its own RNG (so its rolls do not depend on other toxics) and budget."""

    def __init__(self, toxic: Toxic, seed: int) -> None:
        self.toxic = toxic
        self.remaining = toxic.count
        self.injected = 0
        self.rng = random.Random(f"{seed}:{toxic.name}")


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, client: asyncio.StreamWriter, host: asyncio.StreamWriter) -> None:
        self.out = {UPSTREAM: host, DOWNSTREAM: client}
        # One entry per request sent upstream while a duplicate's answers are pending: whether to
        # forward its answer. Empty means forward everything.
        self.answers: deque[bool] = deque()

    def reset(self) -> None:
        for w in self.out.values():
            _abort(w)

    def close(self) -> None:
        for w in self.out.values():
            w.close()


class FaultProxy:
    """A TCP proxy for pos-link-v1 with toxics. Synchronous use: `start()` runs it on its own event
    loop in a background thread, `stop()` ends it. Inside a running loop: `await astart()` /
    `await astop()`. The toxic methods are thread-safe and take effect on the next frame."""

    def __init__(self, upstream: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0),
                 seed: int | None = None, control: tuple[str, int] | None = None,
                 toxics: Iterable[Toxic] = ()) -> None:
        self.upstream = (upstream[0], int(upstream[1]))
        self.listen = (listen[0], int(listen[1]))
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.control = control
        self.port = 0
        self.control_port = 0
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._injected = dict.fromkeys(KINDS, 0)
        self._frames = {UPSTREAM: 0, DOWNSTREAM: 0}
        self._events: deque[Injection] = deque(maxlen=EVENTS_KEPT)
        self._seq = 0
        self._server: asyncio.Server | None = None
        self._control_server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Called with (direction, frame) for each frame before the toxics, on the proxy's
        # thread: what an eavesdropper on the link sees.
        self.tap: Callable[[str, bytes], None] | None = None
        for t in toxics:
            self.add(t)

    # -- toxics ------------------------------------------------------------------------------
    def add(self, toxic: Toxic) -> Toxic:
        """Put a toxic in force (after those already there); its name must be free."""
        toxic = dataclasses.replace(toxic)
        with self._lock:
            if any(a.toxic.name == toxic.name for a in self._armed):
                raise ToxicExists(f"a toxic named {toxic.name!r} is already in force")
            self._armed.append(_Armed(toxic, self.seed))
        return dataclasses.replace(toxic)

    def remove(self, name: str) -> bool:
        """Take the toxic `name` out; False if there was none."""
        with self._lock:
            kept = [a for a in self._armed if a.toxic.name != name]
            found = len(kept) != len(self._armed)
            self._armed = kept
        return found

    def clear(self) -> None:
        with self._lock:
            self._armed = []

    def toxics(self) -> list[Toxic]:
        with self._lock:
            return [dataclasses.replace(a.toxic) for a in self._armed]

    def status(self) -> list[dict[str, Any]]:
        """Each toxic in force as JSON-ready data, with `remaining` (None: no count) and
        `injected` (how many frames it hit)."""
        with self._lock:
            return [{**a.toxic.to_dict(), "remaining": a.remaining, "injected": a.injected}
                    for a in self._armed]

    @property
    def injected(self) -> dict[str, int]:
        """How many frames each kind of toxic hit, since the proxy was made."""
        with self._lock:
            return dict(self._injected)

    @property
    def frames(self) -> dict[str, int]:
        """How many frames met the toxics in each direction (a duplicate's extra answer, swallowed
        before the toxics, is not among them)."""
        with self._lock:
            return dict(self._frames)

    def events(self) -> list[Injection]:
        """The last injections (up to EVENTS_KEPT), oldest first."""
        with self._lock:
            return list(self._events)

    def _plan(self, direction: str, frame: bytes) -> FramePlan:
        plan = FramePlan(frame)
        if self.tap is not None:
            self.tap(direction, frame)
        with self._lock:
            self._frames[direction] += 1
            number = self._frames[direction]
            for armed in self._armed:
                t = armed.toxic
                if t.direction != direction or armed.remaining == 0:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                if armed.rng.random() >= t.probability:
                    continue
                detail = APPLY[t.kind](t, armed.rng, plan)
                if detail is None:
                    continue
                armed.injected += 1
                self._injected[t.kind] += 1
                self._seq += 1
                self._events.append(Injection(self._seq, t.name, t.kind, direction, number,
                                              detail))
                log.debug("%s frame %d: %s %s", direction, number, t.name, detail)
                if plan.drop or plan.reset:
                    break  # the frame is gone: the toxics after this one never see it
        return plan

    # -- running -----------------------------------------------------------------------------
    async def astart(self) -> None:
        """Listen (and serve the control interface, when asked); returns once both are bound."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, *self.listen)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.control is not None:
            try:
                self._control_server = await start_control(self, *self.control)
            except OSError:
                self._server.close()
                raise
            self.control_port = self._control_server.sockets[0].getsockname()[1]

    async def astop(self) -> None:
        """Stop listening and drop every connection."""
        for server in (self._server, self._control_server):
            if server is not None:
                server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        for server in (self._server, self._control_server):
            if server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 5)
        self._server = self._control_server = None

    def start(self) -> FaultProxy:
        """Run on a background thread with its own loop; returns once listening."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already running")
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:  # e.g. the port is taken: raised again in start()
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"fault-proxy-{id(self):x}",
                                        daemon=True)
        self._thread.start()
        try:
            ready.result(START_TIMEOUT)
        except BaseException:
            self._thread.join(START_TIMEOUT)
            self._thread = None
            raise
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.astop(), loop).result(START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT)
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connections -------------------------------------------------------------------------
    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        uwriter: asyncio.StreamWriter | None = None
        pumps: list[asyncio.Task[bool]] = []
        try:
            try:
                ureader, host = await asyncio.wait_for(
                    asyncio.open_connection(*self.upstream), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                log.info("upstream %s:%d unreachable: %s", *self.upstream, exc)
                return
            uwriter = host
            _nodelay(cwriter)
            _nodelay(host)
            link = _Link(cwriter, host)
            pumps = [asyncio.create_task(self._pump(link, creader, UPSTREAM)),
                     asyncio.create_task(self._pump(link, ureader, DOWNSTREAM))]
            pending: set[asyncio.Task[bool]] = set(pumps)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(t.result() for t in done):
                    break
        except asyncio.CancelledError:
            pass  # the proxy is stopping: a re-raised cancel would be logged by asyncio
        finally:
            for t in pumps:
                t.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # the proxy stopping meanwhile
                await asyncio.gather(*pumps, return_exceptions=True)
            for w in (cwriter, uwriter):
                if w is not None:
                    w.close()
            self._conns.discard(task)

    async def _pump(self, link: _Link, reader: asyncio.StreamReader, direction: str) -> bool:
        """Frames from one side to the other until the side ends (False: the other direction may
        go on) or the link must end (True: reset, closed by a toxic, or an error)."""
        out = link.out[direction]
        try:
            while True:
                frame, whole = await read_frame(reader)
                if not whole:
                    if frame:  # the peer left mid-frame: the other side sees the same
                        out.write(frame)
                        await out.drain()
                    if out.can_write_eof():
                        out.write_eof()
                    return False
                if direction == DOWNSTREAM and link.answers and not link.answers.popleft():
                    continue
                plan = self._plan(direction, frame)
                if plan.delay:
                    await asyncio.sleep(plan.delay)
                if plan.reset:
                    if plan.partial:
                        out.write(plan.frame[:plan.partial])
                        await out.drain()
                    link.reset()
                    return True
                if plan.drop:
                    if plan.close:
                        link.close()
                        return True
                    continue
                if direction == UPSTREAM:
                    # Before writing: the answer may be read while this task waits in drain().
                    if plan.copies == 2:
                        link.answers.extend((not plan.forward_second, plan.forward_second))
                    elif link.answers:
                        link.answers.append(True)
                for copy in range(plan.copies):
                    if copy and plan.gap:
                        await asyncio.sleep(plan.gap)
                    await _write(out, plan)
        except OSError as exc:  # ConnectionError included
            log.debug("%s pump ends: %s", direction, exc)
            return True


async def _write(out: asyncio.StreamWriter, plan: FramePlan) -> None:
    data, step = plan.frame, plan.slice_bytes
    if not step:
        out.write(data)
        await out.drain()
        return
    for i in range(0, len(data), step):
        if i and plan.slice_delay:
            await asyncio.sleep(plan.slice_delay)
        out.write(data[i:i + step])
        await out.drain()
