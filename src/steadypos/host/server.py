"""The asyncio TCP server: reads frames, hands them to the group writer, writes the answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from steadypos.host.service import Withheld
from steadypos.host.writer import GroupWriter
from steadypos.protocol.codec import decode_payload, encode_frame
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import read_payload

log = logging.getLogger("steadypos.host")

IDLE_TIMEOUT = 120.0
STOP_GRACE = 5.0  # how long a stop waits for requests already handed to the writer


class HostServer:
    def __init__(self, writer: GroupWriter, bind: str = "127.0.0.1", port: int = 0) -> None:
        self.writer = writer
        self.bind = bind
        self.port = port
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()  # waiting for a frame: safe to cancel
        self._stopping = False

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, self.bind, self.port)
        sock = self._server.sockets[0].getsockname()
        self.port = sock[1]
        return sock[0], sock[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        peer = writer.get_extra_info("peername")
        try:
            while not self._stopping:
                self._idle.add(task)
                try:
                    async with asyncio.timeout(IDLE_TIMEOUT):
                        payload = await read_payload(reader)
                except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                    return
                except ProtocolError as exc:
                    log.info("closing %s: %s", peer, exc)
                    return
                finally:
                    self._idle.discard(task)
                if payload is None:
                    return
                try:
                    msg = decode_payload(payload)
                except ProtocolError as exc:
                    log.info("closing %s: undecodable frame: %s", peer, exc)
                    return
                resp = await self.writer.request(msg)
                if resp is None:
                    return
                if isinstance(resp, Withheld):
                    continue
                writer.write(encode_frame(resp))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            # Cancelled at shutdown: end quietly (a re-raised cancel would be logged by asyncio
            # as an error of the connection callback).
            return
        finally:
            self._conns.discard(task)
            self._idle.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop accepting; answer the requests already with the writer, then close."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for task in list(self._idle):
            task.cancel()
        busy = self._conns - self._idle
        if busy:
            await asyncio.wait(busy, timeout=grace)
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


async def run_until_signalled(server: HostServer, on_ready: Callable[[str, int], None],
                              on_usr1: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop accepting, finish, and return. SIGUSR1 calls
    `on_usr1` (the conformance report) without stopping."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_usr1 is not None:
        loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    host, port = await server.start()
    on_ready(host, port)
    await stop.wait()
    await server.stop()
