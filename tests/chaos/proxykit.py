"""Helpers of the fault proxy's tests: a frame-echoing upstream that records what it saw, and a
blocking client that reads one frame at a time and records the chunks it came in."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from support.listener import listen

from steadypos.protocol.frame import LEN_BYTES, declared_length, split_payloads, with_length

QUIET = 0.4  # how long a client waits before it calls an answer lost


def answer_of(n: int, payload: bytes) -> bytes:
    """What the upstream answers to its n-th frame (counted over all its connections)."""
    return b"re%d:" % n + payload


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


# -- a frame-echoing upstream -----------------------------------------------------------------
@dataclass
class Seen:
    """One connection as the upstream saw it."""

    raw: bytearray = field(default_factory=bytearray)
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (arrival, size) per recv
    end: str = ""  # "eof" or "reset" once over


class Upstream:
    """Answers each frame with `answer_of(n, payload)`; records frames, bytes and chunks."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.conns: list[Seen] = []
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.sock = listen(self._accept)
        self.port = self.sock.getsockname()[1]

    def _accept(self, conn: socket.socket) -> None:
        seen = Seen()
        with self.lock:
            self.conns.append(seen)
            self.open.append(conn)
        threading.Thread(target=self._serve, args=(conn, seen), daemon=True).start()

    def _serve(self, conn: socket.socket, seen: Seen) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except ConnectionResetError:
                    seen.end = "reset"
                    return
                except OSError:
                    seen.end = "closed"
                    return
                if not data:
                    seen.end = "eof"
                    return
                seen.raw += data
                seen.chunks.append((time.monotonic(), len(data)))
                buf += data
                payloads, buf = split_payloads(buf)
                for payload in payloads:
                    with self.lock:
                        self.frames.append(payload)
                        count = len(self.frames)
                    with contextlib.suppress(OSError):
                        conn.sendall(with_length(answer_of(count, payload)))

    def close(self) -> None:
        self.sock.close()
        with self.lock:
            for c in self.open:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)


class Client:
    """A blocking client of the proxy, one frame at a time."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.chunks: list[tuple[float, int]] = []

    def send(self, payload: bytes) -> None:
        self.sock.sendall(with_length(payload))

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError(f"closed after {len(buf)} of {n} bytes")
            self.chunks.append((time.monotonic(), len(chunk)))
            buf += chunk
        return buf

    def recv(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        return self._exact(declared_length(self._exact(LEN_BYTES)))

    def ask(self, payload: bytes, timeout: float = 5.0) -> bytes:
        self.send(payload)
        return self.recv(timeout)

    def close(self) -> None:
        self.sock.close()
