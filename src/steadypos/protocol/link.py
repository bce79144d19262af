"""A blocking client connection for the link: connect and read timeouts, one frame at a time."""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Protocol

from steadypos.protocol.codec import Message, decode_payload, encode_frame
from steadypos.protocol.frame import LEN_BYTES, MAX_FRAME, declared_length
from steadypos.protocol.tls import client_handshake


class LinkError(OSError):
    """The link failed; `sent` tells whether any byte of the request left."""

    def __init__(self, message: str, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class LinkTimeout(LinkError):
    pass


class Link(Protocol):
    """What the terminal needs of its link: the TCP connection below, or a simulated one."""

    def send(self, msg: Message) -> None: ...

    def receive(self) -> Message: ...

    def close(self) -> None: ...


class Connection:
    """Plain TCP, or TLS when given an ssl context (§8): a handshake that fails, or a host that
    refuses the terminal's certificate, is "cannot connect, nothing sent" like a refused TCP
    connection."""

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port = host, port
        self.read_timeout = read_timeout
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as exc:
            raise LinkError(f"cannot connect to {host}:{port}: {exc}", sent=False) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        if ssl_context is not None:
            try:
                self.sock = client_handshake(sock, ssl_context, host, connect_timeout)
            except OSError as exc:
                sock.close()
                raise LinkError(f"cannot connect to {host}:{port} over TLS: {exc}",
                                sent=False) from exc

    def send(self, msg: Message) -> None:
        self.send_raw(encode_frame(msg))

    def send_raw(self, frame: bytes) -> None:
        try:
            self.sock.sendall(frame)
        except OSError as exc:
            raise LinkError(f"send failed: {exc}", sent=True) from exc

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except TimeoutError as exc:
                raise LinkTimeout("no response in time", sent=True) from exc
            except OSError as exc:
                raise LinkError(f"receive failed: {exc}", sent=True) from exc
            if not chunk:
                raise LinkError("connection closed by the host", sent=True)
            buf += chunk
        return buf

    def receive_payload(self) -> bytes:
        self.sock.settimeout(self.read_timeout)
        n = declared_length(self._read(LEN_BYTES))
        if n > MAX_FRAME:
            raise LinkError(f"host sent a {n}-byte frame", sent=True)
        return self._read(n)

    def receive(self) -> Message:
        return decode_payload(self.receive_payload())

    def exchange(self, msg: Message) -> Message:
        self.send(msg)
        return self.receive()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
