"""The asyncio TCP server: reads frames, hands them to the group writer, writes the answers. A
listener is plain TCP or TLS (§8); several listeners may share one writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from steadypos.host.service import HostService, Withheld
from steadypos.host.writer import Action, GroupWriter
from steadypos.protocol.codec import Message, decode_payload, encode_frame
from steadypos.protocol.codes import ResponseCode
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import read_payload
from steadypos.protocol.tls import HANDSHAKE_TIMEOUT, peer_tid
from steadypos.sockets import tcp_socket

try:  # libuv's event loop: the same asyncio API, its sockets and timers in C
    import uvloop
except ImportError:  # a platform without it (Windows): asyncio's own loop
    uvloop = None  # type: ignore[assignment]

log = logging.getLogger("steadypos.host")
T = TypeVar("T")

IDLE_TIMEOUT = 120.0
STOP_GRACE = 5.0  # how long a stop waits for requests already handed to the writer
# §8: F41 is not the TID of the certificate the terminal presented.
TID_MISMATCH = ResponseCode.INVALID_MERCHANT


def refuse_tid(cert_tid: str) -> Action:
    """The writer's action for a request whose F41 is not `cert_tid`: the service's 03."""
    why = f"F41 is not {cert_tid}, the TID of the TLS client certificate"

    def action(service: HostService, msg: Message) -> Message | None:
        return service.refuse(msg, TID_MISMATCH, why)

    return action


class HostServer:
    """One listener. With `ssl_context` (tls.server_context) every client has shown a
    certificate of the client CA, and every request must carry its TID in F41. With `sock` it
    accepts on that listening socket (a host worker's own, workers.py) instead of binding."""

    def __init__(self, writer: GroupWriter, bind: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None,
                 sock: socket.socket | None = None) -> None:
        self.writer = writer
        self.sock = sock
        self.bind = bind
        self.port = port
        self.ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        # Waiting for a frame (safe to cancel), since when (the loop's clock): one sweeper
        # closes those idle too long, rather than a timer set and cancelled per request.
        self._idle: dict[asyncio.Task[None], float] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> tuple[str, int]:
        handshake = HANDSHAKE_TIMEOUT if self.ssl_context is not None else None
        if self.sock is not None:
            self._server = await asyncio.start_server(
                self._serve, sock=self.sock, ssl=self.ssl_context,
                ssl_handshake_timeout=handshake)
        else:
            self._server = await asyncio.start_server(
                self._serve, self.bind, self.port, ssl=self.ssl_context,
                ssl_handshake_timeout=handshake)
        sock = self._server.sockets[0].getsockname()
        self.port = sock[1]
        self._sweeper = asyncio.create_task(self._sweep(IDLE_TIMEOUT))
        return sock[0], sock[1]

    async def _sweep(self, timeout: float) -> None:
        """Close the connections that have waited for a frame longer than `timeout`, checking a
        few times per timeout (a connection goes after timeout .. 1.25 x timeout)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(timeout / 4)
            too_old = loop.time() - timeout
            for task in [t for t, since in self._idle.items() if since <= too_old]:
                task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        peer = writer.get_extra_info("peername")
        cert_tid = peer_tid(writer.get_extra_info("ssl_object"))
        try:
            if self.ssl_context is not None and cert_tid is None:
                log.info("closing %s: TLS client without a TID in its certificate", peer)
                return
            loop = asyncio.get_running_loop()
            while not self._stopping:
                self._idle[task] = loop.time()
                try:
                    payload = await read_payload(reader)
                except (asyncio.IncompleteReadError, OSError):
                    return  # closed, reset, or (TLS) a record that fails
                except ProtocolError as exc:
                    log.info("closing %s: %s", peer, exc)
                    return
                finally:
                    self._idle.pop(task, None)
                if payload is None:
                    return
                try:
                    msg = decode_payload(payload)
                except ProtocolError as exc:
                    log.info("closing %s: undecodable frame: %s", peer, exc)
                    return
                if cert_tid is not None and msg.get(41) != cert_tid:
                    refusal = await self.writer.request(msg, refuse_tid(cert_tid))
                    if isinstance(refusal, Message):
                        writer.write(encode_frame(refusal))
                        await writer.drain()
                    return  # §8: refused and closed
                resp = await self.writer.request(msg)
                if resp is None:
                    return
                if isinstance(resp, Withheld):
                    continue
                writer.write(encode_frame(resp))
                await writer.drain()
        except (OSError, asyncio.CancelledError):  # OSError: ssl.SSLError included
            # Cancelled at shutdown or idle too long: end quietly (a re-raised cancel would be
            # logged by asyncio as an error of the connection callback).
            return
        finally:
            self._conns.discard(task)
            self._idle.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop accepting; answer the requests already with the writer, then close."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for task in list(self._idle):
            task.cancel()
        busy = self._conns - self._idle.keys()
        if busy:
            await asyncio.wait(busy, timeout=grace)
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


async def run_until_signalled(servers: Sequence[HostServer],
                              on_ready: Callable[[HostServer, str, int], None],
                              on_usr1: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop accepting, finish, and return. `on_ready` is
    called for each listener in order once all listen. SIGUSR1 calls `on_usr1` (the conformance
    report) without stopping."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_usr1 is not None:
        loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    try:
        addresses = [await server.start() for server in servers]
        for server, (host, port) in zip(servers, addresses, strict=True):
            on_ready(server, host, port)
        await stop.wait()
    finally:
        await asyncio.gather(*(server.stop() for server in servers))


def check_listen(bind: str, port: int) -> None:
    """Raises OSError where `bind`:`port` cannot be listened on (an address not of this machine,
    a port in use), found by binding and closing a socket on every address of `bind`, as the
    listener will bind: so that the host refuses before it creates or migrates a database or
    writes a key file."""
    found = socket.getaddrinfo(bind or None, port, type=socket.SOCK_STREAM,  # "": all, as asyncio
                               flags=socket.AI_PASSIVE)
    for family, _, _, _, address in dict.fromkeys(found):
        with tcp_socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) on uvloop's event loop where uvloop is installed, else asyncio's."""
    factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
