"""The attacker of a chaos run with real processes: it sends a stranger's admin messages, and
forgeries of a request it saw pass the fault proxy, straight to the host's port, and watches the
terminal's next answer through the proxy's tap, as the simulation's network does (h and i)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from steadypos.chaos import attacks
from steadypos.chaos.invariants import Violation
from steadypos.chaos.toxics import DOWNSTREAM, UPSTREAM
from steadypos.protocol.codec import Message, decode_frame
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import LEN_BYTES
from steadypos.protocol.link import Connection

ANSWER_TIMEOUT = 2.0


def _decoded(frame: bytes) -> Message | None:
    try:
        return decode_frame(frame)
    except ProtocolError:
        return None


class Outsider:
    """Armed per operation from the main thread; `tap` runs on the proxy's thread."""

    def __init__(self, host: Callable[[], tuple[str, int]], note: Callable[[str], None]) -> None:
        self.host, self.note = host, note
        self.found: list[Violation] = []
        self.watch = attacks.Watch()
        self._lock = threading.Lock()
        self._forge_for: dict[str, int] = {}  # TID -> roll: forge its next MAC'd request
        self._captured: dict[str, bytes] = {}

    # -- what passes the proxy ------------------------------------------------------------------
    def tap(self, direction: str, frame: bytes) -> None:
        """A frame as it reached the proxy, before any toxic."""
        msg = _decoded(frame)
        if msg is None:
            return
        tid = msg.get(41)
        with self._lock:
            if direction == UPSTREAM and tid in self._forge_for and tid not in self._captured \
                    and 64 in msg.fields:
                self._captured[tid] = frame
            elif direction == DOWNSTREAM:
                self.watch.exchange(tid)
                self.watch.answer(tid, frame)

    # -- the attacks ------------------------------------------------------------------------------
    def stranger(self, tid: str, mid: str, batch: int, roll: int) -> None:
        for frame in attacks.stranger(tid, mid, batch, roll):
            self._send(tid, "stranger_admin", frame)
        with self._lock:
            self.watch.after[tid] = "stranger_admin"

    def forge_next(self, tid: str, roll: int) -> None:
        """Capture `tid`'s next MAC'd request; `forge` sends its forgeries after the operation."""
        with self._lock:
            self._forge_for[tid] = roll

    def forge(self) -> None:
        with self._lock:
            captured, rolls = self._captured, self._forge_for
            self._captured, self._forge_for = {}, {}
        for tid, frame in captured.items():
            for forged in attacks.forgeries(frame, rolls[tid]):
                self._send(tid, "forged_frame", forged)
            with self._lock:
                self.watch.after[tid] = "forged_frame"

    def _send(self, tid: str, fault: str, frame: bytes) -> None:
        addr, port = self.host()
        answer: bytes | None = None
        try:
            with Connection(addr, port, read_timeout=ANSWER_TIMEOUT) as conn:
                conn.send_raw(frame)
                payload = conn.receive_payload()
                answer = len(payload).to_bytes(LEN_BYTES, "big") + payload
        except OSError as exc:  # refused by closing, or the host is down: nothing moved
            self.note(f"  {fault}: {exc}")
        with self._lock:
            self.found += attacks.judge_answer(tid, fault, frame, answer)
        self.note(f"  {fault} {_summary(frame)} -> {_summary(answer)}")


def _summary(frame: bytes | None) -> str:
    if frame is None:
        return "(no answer)"
    try:
        m = decode_frame(frame)
    except ProtocolError:
        return f"<{len(frame)} undecodable bytes>"
    return f"{m.mti} stan={m.get(11)} rc={m.get(39) or '-'}"
