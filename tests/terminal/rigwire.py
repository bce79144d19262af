"""The terminal tests' wire: a man-in-the-middle proxy between terminal and host that records
every request and answer (and can swallow, drop or corrupt answers); a port nobody listens on."""

from __future__ import annotations

import contextlib
import socket
import threading

from steadypos.protocol.codec import Message, decode_payload
from steadypos.protocol.frame import recv_payload, with_length
from steadypos.protocol.mti import response_mti


# -- the wire ---------------------------------------------------------------------------------
class Proxy:
    """Sits between terminal and host, records each request the terminal sends (`seen`) and
    each answer it passes back (`answers`), and does to a request what `mode` says (for the
    request MTIs in `only`, or for all when `only` is None):

    forward   pass it on and pass the answer back
    blackhole keep it, never answer (the host never sees it; the terminal times out)
    swallow   pass it on, the host acts, the answer is thrown away (the terminal times out)
    drop      pass it on, the host acts, then close the terminal's connection unanswered
    flip_mac  pass it on; flip a bit of the last byte of F64 of a 0210 (or of the answers to
              the MTIs given) on the way back

    `down()` closes the port (connection refused), `up()` opens the same port again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = "forward"
        self.only: set[str] | None = None
        self.seen: list[Message] = []
        self.answers: list[Message] = []  # the answers that reached the terminal
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.up()

    def set(self, mode: str, *mtis: str) -> None:
        self.mode, self.only = mode, set(mtis) or None

    def up(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse connections and cut the ones that are open."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        with self._lock:
            socks, self._open = list(self._open), set()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    close = down

    def mtis(self, since: int = 0) -> list[str]:
        """The request MTIs seen (0400 shown with its reason, e.g. `0400/98`)."""
        return [m.mti + (f"/{m.get(39)}" if m.mti == "0400" else "") for m in self.seen[since:]]

    def reversals(self) -> list[Message]:
        return [m for m in self.seen if m.mti == "0400"]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _track(self, s: socket.socket) -> socket.socket:
        with self._lock:
            self._open.add(s)
        return s

    def _serve(self, conn: socket.socket) -> None:
        self._track(conn)
        upstream: socket.socket | None = None
        try:
            while True:
                payload = recv_payload(conn)
                if payload is None:
                    return
                msg = decode_payload(payload)
                with self._lock:
                    self.seen.append(msg)
                mode = self.mode if self.only is None or msg.mti in self.only else "forward"
                if mode == "blackhole":
                    continue
                if upstream is None:
                    upstream = self._track(socket.create_connection(
                        ("127.0.0.1", self.upstream_port), timeout=10))
                upstream.sendall(with_length(payload))
                answer = recv_payload(upstream)
                if answer is None or mode == "drop":
                    return
                if mode == "swallow":
                    continue
                flipped = {"0210"} if self.only is None else {response_mti(m) for m in self.only}
                if mode == "flip_mac" and decode_payload(answer).mti in flipped:
                    answer = answer[:-1] + bytes([answer[-1] ^ 0x01])
                with self._lock:
                    self.answers.append(decode_payload(answer))
                conn.sendall(with_length(answer))
        except OSError:
            return
        finally:
            for s in (conn, upstream):
                if s is not None:
                    with self._lock:
                        self._open.discard(s)
                    s.close()


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
