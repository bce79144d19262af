"""The world the deterministic simulation runs in: a clock, the host in process, and a network
that delivers, loses, delays and garbles frames and lets the outsider attack, all by one seed."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from steadypos.chaos import attacks
from steadypos.chaos.conformance import RuleWatch, corrupt_mac
from steadypos.chaos.invariants import Violation
from steadypos.host import demo_data
from steadypos.host.secrets import HostSecrets
from steadypos.host.service import HostService
from steadypos.host.store import open_store
from steadypos.masking import mask_pan
from steadypos.protocol import mac
from steadypos.protocol.codec import Message, decode_frame, encode_frame
from steadypos.protocol.codes import ReversalReason
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.link import LinkError, LinkTimeout


class SimCrash(Exception):
    """The simulated SIGKILL of a terminal: the object is abandoned, the journal stays."""


@dataclass
class SimClock:
    now_at: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 10, 0, 0))

    def now(self) -> datetime:
        return self.now_at

    def advance(self, seconds: float) -> None:
        self.now_at += timedelta(seconds=seconds)


class SimHost:
    """The host's service on a SQLite file without fsync: a "kill" drops what was not committed."""

    def __init__(self, root: Path, seed: int, clock: SimClock, observer: RuleWatch) -> None:
        self.db = root / "host.db"
        lmk = hashlib.sha256(f"sim lmk {seed}".encode()).digest()[:16]
        self.secrets = HostSecrets(lmk, demo_data.DEMO_ISSUER_MK)
        self.clock = clock
        self.observer = observer
        store = open_store(self.db, synchronous="OFF")
        demo_data.seed(store, self.secrets)
        store.close()
        self.service = self._open()
        self.down = False
        self.issued: dict[str, list[bytes]] = {}  # TID -> MAC keys its own sign-ins got

    def _open(self) -> HostService:
        return HostService(open_store(self.db, synchronous="OFF"), self.secrets, self.clock.now)

    def restart(self) -> None:
        self.service.store.close()
        self.service = self._open()
        self.down = False

    def observe(self, msg: Message) -> None:
        verdict, alg = self.service.mac_verdict(msg)
        tid = msg.get(41)
        current = self.service.keys_of(tid)
        # A set that went into force is the host's rules' alone to judge from then on.
        issued = self.issued[tid] = [k for k in self.issued.get(tid, [])
                                     if current is None or k != current.mak]
        if verdict is False and alg is not None and 64 in msg and any(
                mac.verify(msg, k, alg) for k in issued):
            # A set the host gave the terminal's own sign-in and pushed out of its newest 3 for
            # a stranger's sign-ins before it was used (§4): the terminal could not know.
            verdict = None
        self.observer.before(msg, verdict, alg)

    def issued_to(self, tid: str) -> None:
        """The terminal's own sign-in was answered: remember the MAC key of the set it got."""
        sets = self.service.store.key_sets(tid)
        if sets:
            newest = max(sets, key=lambda k: k.gen)
            self.issued.setdefault(tid, []).append(self.secrets.unseal(newest.mak))

    def handle(self, frame: bytes, commit: bool = True) -> bytes | None:
        """Answer a frame as the server would; `commit=False` is a kill before the commit."""
        try:
            msg = decode_frame(frame)
        except ProtocolError:
            return None
        resp = self.service.handle_alone(msg, commit)
        return encode_frame(resp) if resp is not None else None


@dataclass
class Trace:
    lines: list[str] = field(default_factory=list)

    def add(self, tid: str, direction: str, frame: bytes | None, note: str = "") -> None:
        if frame is None:
            self.lines.append(f"{tid} {direction} (nothing) {note}".rstrip())
            return
        try:
            m = decode_frame(frame)
            pan = mask_pan(m.get(2)) if m.get(2) else "-"
            text = f"{m.mti} stan={m.get(11)} pan={pan} amount={m.get(4) or '-'} " \
                   f"rc={m.get(39) or '-'}"
        except ProtocolError:
            text = f"<{len(frame)} undecodable bytes>"
        self.lines.append(f"{tid} {direction} {text} {note}".rstrip())


class SimNet:
    """The network between terminals and host, with the fault armed for the current operation."""

    def __init__(self, host: SimHost, rng: random.Random, clock: SimClock, trace: Trace) -> None:
        self.host = host
        self.rng = rng
        self.clock = clock
        self.trace = trace
        self.fault: str | None = None
        self.left = 0  # exchanges the armed fault still hits; it may outlast its operation
        self.forge_for: dict[str, int] = {}  # TID -> roll: forge its next MAC'd request
        self.watch = attacks.Watch()
        self.attack_found: list[Violation] = []

    def connection(self, tid: str) -> Callable[..., SimConnection]:
        def factory(host: str, port: int, connect_timeout: float = 5.0,
                    read_timeout: float = 30.0) -> SimConnection:
            if self.host.down:
                raise LinkError("cannot connect: host down", sent=False)
            return SimConnection(self, tid, read_timeout)
        return factory

    def exchange(self, tid: str, frame: bytes, timeout: float) -> bytes | Exception:
        """What comes back for `frame`: an answer, or the error the terminal will see."""
        fault = self.fault
        self.left -= 1
        if self.left <= 0:
            self.fault, self.left = None, 0
        if fault == "duplicate_request" and frame[13:15] == b"\x08\x00":
            # A duplicated sign-in issues two key sets and the terminal keeps the first: a
            # desynchronisation that says nothing about the terminal, so it is left out.
            fault = None
        self.clock.advance(0.2)
        self.watch.exchange(tid)
        self.trace.add(tid, ">", frame, f"[{fault}]" if fault else "")
        msg = decode_frame(frame)
        self.host.observe(msg)  # the wire rules judge what the terminal sent, not the damage
        if fault == "black_hole":
            return LinkTimeout("no response in time", sent=True)
        if fault == "corrupt_byte" and self.rng.random() < 0.5:
            frame = _flip(frame, self.rng)
        if fault in ("reset", "kill_host") and self.rng.random() < 0.5:
            if fault == "kill_host":
                self.host.down = True
            return LinkError("connection reset", sent=True)  # before the host got it
        answer = self.host.handle(frame, commit=fault != "kill_host" or self.rng.random() < 0.5)
        if msg.mti == "0800" and answer is not None:
            self.host.issued_to(tid)
        self._after_attack(tid, frame, answer)
        if fault == "duplicate_request":
            self.host.handle(frame)
        if answer is None:
            return LinkError("connection closed by the host", sent=True)
        late = fault == "latency" and self.rng.random() < 0.3
        lost = fault in ("drop_response", "reset", "kill_host", "host_restart") or late
        if fault == "kill_host":
            self.host.down = True
        if fault == "host_restart":
            self.host.restart()
        if lost:
            self.observer_owes(msg, ReversalReason.NO_RESPONSE)
            self.trace.add(tid, "<", answer, "[lost]")
            return LinkTimeout("no response in time", sent=True)
        if fault == "mac_corrupt":
            resp = decode_frame(answer)
            if 64 in resp:
                self.observer_owes(msg, ReversalReason.MAC_FAILED)
                answer = encode_frame(corrupt_mac(resp))
        if fault == "corrupt_byte":
            answer = _flip(answer, self.rng)
        self.trace.add(tid, "<", answer)
        return answer

    def stranger(self, tid: str, mid: str, batch: int, roll: int) -> None:
        """A stranger's admin messages in `tid`'s name, straight to the host."""
        for frame in attacks.stranger(tid, mid, batch, roll):
            self._attack(tid, "stranger_admin", frame)
        self.watch.after[tid] = "stranger_admin"

    def _attack(self, tid: str, fault: str, frame: bytes) -> None:
        answer = self.host.handle(frame)
        self.trace.add(tid, ">", frame, f"[{fault}]")
        self.trace.add(tid, "<", answer, f"[{fault}]")
        self.attack_found += attacks.judge_answer(tid, fault, frame, answer)

    def _after_attack(self, tid: str, frame: bytes, answer: bytes | None) -> None:
        """Judge the terminal's first answer after an attack; forge a captured MAC'd request."""
        self.watch.answer(tid, answer)
        if tid in self.forge_for:
            forged = attacks.forgeries(frame, self.forge_for[tid])
            if forged:
                del self.forge_for[tid]
                for f in forged:
                    self._attack(tid, "forged_frame", f)
                self.watch.after[tid] = "forged_frame"

    def observer_owes(self, msg: Message, reason: ReversalReason) -> None:
        self.host.observer.owe(msg, reason)


def _flip(frame: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(2, len(frame))
    return frame[:i] + bytes([frame[i] ^ (1 << rng.randrange(8))]) + frame[i + 1:]


class SimConnection:
    """What the terminal's engine sees as its TCP connection."""

    def __init__(self, net: SimNet, tid: str, read_timeout: float) -> None:
        self.net, self.tid, self.read_timeout = net, tid, read_timeout
        self._answer: bytes | Exception | None = None

    def send(self, msg: Message) -> None:
        self._answer = self.net.exchange(self.tid, encode_frame(msg), self.read_timeout)

    def receive(self) -> Message:
        answer, self._answer = self._answer, None
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            raise LinkError("nothing was sent", sent=False)
        return decode_frame(answer)

    def close(self) -> None:
        self._answer = None
