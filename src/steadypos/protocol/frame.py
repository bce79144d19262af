"""Framing of §1: 2-byte length, TPDU and the 6-byte header around each ISO 8583 body."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

from steadypos.protocol.errors import ProtocolError

LEN_BYTES = 2  # the length prefix: big-endian count of the bytes that follow
PREFIX_LEN = LEN_BYTES + 5 + 6  # LEN + TPDU + HEADER: where the MTI starts
MAX_FRAME = 4096  # far above the largest legal message; anything longer is garbage

TERMINAL_STATE_LIVE = 0
TERMINAL_STATE_TRAINING = 1
PROC_NONE = 0
PROC_SIGN_IN = 3
PROC_NEW_PARAMS = 6


@dataclass(frozen=True)
class Tpdu:
    """`60` + destination + source."""

    dest: int = 0x0003
    src: int = 0x0000

    def to_bytes(self) -> bytes:
        return b"\x60" + self.dest.to_bytes(2, "big") + self.src.to_bytes(2, "big")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Tpdu:
        if len(raw) != 5 or raw[0] != 0x60:
            raise ProtocolError(f"TPDU must start with 60, got {raw[:1].hex().upper()}", "TPDU", 2)
        return cls(int.from_bytes(raw[1:3], "big"), int.from_bytes(raw[3:5], "big"))

    @classmethod
    def parse_hex(cls, text: str) -> Tpdu:
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise ProtocolError(f"TPDU {text!r} is not hex", "TPDU", 0) from exc
        return cls.from_bytes(raw)

    def swapped(self) -> Tpdu:
        return Tpdu(self.src, self.dest)


@dataclass(frozen=True)
class Header:
    """Application type `60`, version `31`, terminal state and processing requirement nibbles."""

    state: int = TERMINAL_STATE_LIVE
    proc: int = PROC_NONE

    def to_bytes(self) -> bytes:
        return bytes([0x60, 0x31, (self.state << 4) | self.proc, 0, 0, 0])

    @classmethod
    def from_bytes(cls, raw: bytes) -> Header:
        if len(raw) != 6 or raw[0] != 0x60 or raw[1] != 0x31:
            at = 8 if raw[:1] == b"\x60" else 7  # the byte that is wrong: type or version
            raise ProtocolError(f"header must start with 6031, got {raw[:2].hex().upper()}",
                                "header", at)
        return cls(raw[2] >> 4, raw[2] & 0x0F)

    def with_proc(self, proc: int) -> Header:
        return Header(self.state, proc)


@dataclass(frozen=True)
class Frame:
    tpdu: Tpdu
    header: Header
    body: bytes  # MTI onwards

    def to_bytes(self) -> bytes:
        return with_length(self.tpdu.to_bytes() + self.header.to_bytes() + self.body)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Frame:
        if len(raw) < LEN_BYTES:
            raise ProtocolError("frame shorter than its 2-byte length", "LEN", 0)
        declared, rest = declared_length(raw), len(raw) - LEN_BYTES
        if declared != rest:
            raise ProtocolError(f"length says {declared} bytes, {rest} follow", "LEN", 0)
        return cls.from_payload(raw[LEN_BYTES:])

    @classmethod
    def from_payload(cls, payload: bytes) -> Frame:
        """Parse what follows the length prefix."""
        if len(payload) < 5 + 6 + 2:
            raise ProtocolError(f"{len(payload)} bytes cannot hold TPDU, header and MTI", "LEN", 0)
        return cls(Tpdu.from_bytes(payload[:5]), Header.from_bytes(payload[5:11]), payload[11:])


def with_length(payload: bytes) -> bytes:
    """The frame that carries `payload`: its 2-byte length, then the payload."""
    return len(payload).to_bytes(LEN_BYTES, "big") + payload


def declared_length(head: bytes) -> int:
    """The payload length a frame's first two bytes declare."""
    return int.from_bytes(head[:LEN_BYTES], "big")


def split_payloads(buf: bytes) -> tuple[list[bytes], bytes]:
    """The whole frames at the start of a byte stream, as payloads, and the bytes left over."""
    payloads = []
    while len(buf) >= LEN_BYTES and len(buf) >= LEN_BYTES + declared_length(buf):
        end = LEN_BYTES + declared_length(buf)
        payloads.append(buf[LEN_BYTES:end])
        buf = buf[end:]
    return payloads, buf


def recv_payload(sock: socket.socket) -> bytes | None:
    """One payload from a blocking socket; None when the peer closed, between frames or in the
    middle of one. Timeouts and socket errors propagate."""
    head = _recv_exactly(sock, LEN_BYTES)
    return None if head is None else _recv_exactly(sock, declared_length(head))


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


async def read_frame(reader: asyncio.StreamReader,
                     check: Callable[[int], None] | None = None) -> tuple[bytes, bool]:
    """One frame as it came, its length prefix included, and True; or whatever came before the
    end of stream, and False (b"" on a clean end between frames). `check` sees the declared
    length before the payload is awaited and may raise."""
    try:
        head = await reader.readexactly(LEN_BYTES)
    except asyncio.IncompleteReadError as exc:
        return exc.partial, False
    if check is not None:
        check(declared_length(head))
    try:
        return head + await reader.readexactly(declared_length(head)), True
    except asyncio.IncompleteReadError as exc:
        return head + exc.partial, False


def _legal_length(n: int) -> None:
    if n < 13 or n > MAX_FRAME:
        raise ProtocolError(f"length {n} is outside 13..{MAX_FRAME}", "LEN", 0)


async def read_payload(reader: asyncio.StreamReader) -> bytes | None:
    """One length-prefixed payload from a stream; None on a clean end of stream between frames.

    Raises asyncio.IncompleteReadError when the peer leaves mid-frame, ProtocolError on a length
    that no legal message has.
    """
    frame, whole = await read_frame(reader, _legal_length)
    if whole:
        return frame[LEN_BYTES:]
    if not frame:
        return None
    raise asyncio.IncompleteReadError(frame, None)
