"""Deterministic simulation: host, terminals, network and clock in one process, driven by one seed,
with no sockets and no sleeping, so that a failure replays exactly from its seed."""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from steadypos.chaos import attacks, ops
from steadypos.chaos.conformance import Observer, corrupt_mac
from steadypos.chaos.invariants import (
    TerminalView,
    Violation,
    check_all,
    episode_violations,
    wire_violations,
)
from steadypos.chaos.schedule import ATTACK_FAULTS, NETWORK_FAULTS, Op, Schedule
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
from steadypos.terminal.events import events_path
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.journal import JournalError
from steadypos.terminal.outcome import Outcome
from steadypos.terminal.settings import TerminalSettings


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

    def __init__(self, root: Path, seed: int, clock: SimClock, observer: Observer) -> None:
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


@dataclass
class RunResult:
    seed: int
    schedule: Schedule
    violations: list[Violation]
    trace: list[str]
    sim: bool = True


class Simulation:
    """One schedule, run from a clean world to a healed one, then checked."""

    def __init__(self, schedule: Schedule, terminal_cls: type[Terminal] = Terminal,
                 root: Path | None = None, attacks: bool = True) -> None:
        self.schedule = schedule
        self.attacks = attacks  # False: the same run with the outsider silent
        self.terminal_cls = terminal_cls
        self.rng = random.Random(schedule.seed ^ 0x5EED)
        self.clock = SimClock()
        self.trace = Trace()
        self.root = Path(tempfile.mkdtemp(prefix="steadypos-sim-", dir=root or tmp_root()))
        self.observer = Observer()
        self.host = SimHost(self.root, schedule.seed, self.clock, self.observer)
        self.net = SimNet(self.host, self.rng, self.clock, self.trace)
        self.cards = ops.demo_cards()
        self.terms: list[Terminal | None] = []
        self.paths: list[Path] = []
        self.tids: list[str] = []
        self.crash_step: str | None = None
        self.abandoned = [0, 0]  # per terminal: crashes and abandoned flows the log must show
        for i, t in enumerate(ops.demo_terminals()):
            path = self.root / f"t{i + 1}.db"
            Terminal.init(path, "sim", 1, t["tid"], t["mid"], bytes.fromhex(t["tmk"]),
                          timeout=2.0)
            self.paths.append(path)
            self.tids.append(t["tid"])
            self.terms.append(None)

    # -- terminals --------------------------------------------------------------------------
    def _terminal(self, i: int) -> Terminal:
        term = self.terms[i]
        if term is None:
            term = self.terminal_cls.open(self.paths[i],
                                          settings=TerminalSettings(journal_sync="OFF"),
                                          link_factory=self.net.connection(self.tids[i]),
                                          on_step=self._on_step)
            self.terms[i] = term
        return term

    def _on_step(self, step: str) -> None:
        if self.crash_step == step:
            self.crash_step = None
            raise SimCrash(step)

    def _kill(self, i: int) -> None:
        term = self.terms[i]
        if term is not None:
            term.journal.close()  # what a SIGKILL leaves: whatever was committed
            term.events.close()
            self.terms[i] = None

    # -- running ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        try:
            for op in self.schedule.ops:
                self._run_op(op)
            violations = self._heal_and_check()
        finally:
            for i in range(len(self.terms)):
                self._kill(i)
            self.host.service.store.close()
            shutil.rmtree(self.root, ignore_errors=True)
        violations += self._caused_by_attacks()
        return RunResult(self.schedule.seed, self.schedule, violations, self.trace.lines)

    def _caused_by_attacks(self) -> list[Violation]:
        """(i) the disturbances an attack caused (`attacks.Watch`); each draw of the run's dice
        is the same in the run with the outsider silent."""
        if not self.net.watch.disturbed:
            return []
        quiet = Simulation(self.schedule, self.terminal_cls, attacks=False)
        quiet.run()
        return self.net.watch.caused(quiet.net.watch)

    def _arm(self, op: Op, term: Terminal) -> Callable[[], None]:
        """Set the op's fault; return what undoes it afterwards."""
        fault, roll = op.fault, op.roll
        undo: Callable[[], None] = lambda: None  # noqa: E731
        if fault is None:
            return undo
        if fault in NETWORK_FAULTS:
            self.net.fault = None if fault == "slice" else fault
            self.net.left = ops.hits(roll)
        elif fault == "kill_terminal":
            self.crash_step = ops.kill_step(roll)
        elif fault in ops.DISK_FAULTS:
            term.journal.disk_fault = ops.disk_fault(fault, roll)

            def undo() -> None:
                if self.terms[op.term] is not None:
                    self.terms[op.term].journal.disk_fault = None  # type: ignore[union-attr]
        elif fault in ATTACK_FAULTS:
            self.net.fault, self.net.left = None, 0  # the outsider alone, with nothing else
            tid = self.tids[op.term]
            if not self.attacks:
                return undo
            if fault == "stranger_admin":
                self.net.stranger(tid, term.cfg["mid"], term.batch, roll)
            else:
                self.net.forge_for[tid] = roll

            def undo() -> None:
                self.net.forge_for.pop(tid, None)  # no MAC'd request in this operation
        elif fault == "clock_midnight":
            self.clock.now_at = self.clock.now_at.replace(hour=23, minute=59, second=59)
        elif fault == "param_mismatch":
            cfg = term.journal.config()
            bad = ops.bad_params(roll, cfg)
            good = {key: cfg[key] for key in bad}
            term.journal.set_config(bad)

            def undo() -> None:
                self._terminal(op.term).journal.set_config(good)
        elif fault in ops.DEVICE_FAULTS:
            device, switch = ops.DEVICE_FAULTS[fault]
            term.faults.switches[device] = switch
        return undo

    def _run_op(self, op: Op) -> None:
        term = self._terminal(op.term)
        undo = self._arm(op, term)
        started = _last_txn_id(term)
        try:
            out = self._act(term, op)
            if out is not None and ops.abandoned(op.action, out.result, out.message,
                                                 _last_txn_id(term) > started):
                self.abandoned[op.term] += 1
        except SimCrash:
            self._crashed(op, started)
            self._kill(op.term)
        except JournalError:
            # What the CLI does: the flow stops; the process exits as crashed.
            self._owe_as_journaled(op.term)
            self._crashed(op, started)
            self._kill(op.term)
        finally:
            self.crash_step = None
            if self.terms[op.term] is not None:
                self.terms[op.term].faults.switches.clear()  # type: ignore[union-attr]
                self.terms[op.term].journal.disk_fault = None  # type: ignore[union-attr]
            undo()
            if self.host.down:
                self.host.restart()

    def _crashed(self, op: Op, started: int) -> None:
        """A crash inside a payment flow: the event log must show it as an episode."""
        term = self.terms[op.term]
        if ops.in_flow(op.action, term is not None and _last_txn_id(term) > started):
            self.abandoned[op.term] += 1

    def _owe_as_journaled(self, i: int) -> None:
        """The refused write may be the one that recorded a MAC failure (rule 5, reason A0): the
        terminal then knows only the reason on disk, so that is the reason its reversal owes."""
        term, rec = self.terms[i], self.observer.terminals.get(self.tids[i])
        if term is None or rec is None:
            return
        for rev in term.journal.reversals():
            txn = term.journal.txn(rev.txn_id)
            owed = rec.owed.get((txn.batch, f"{txn.stan:06d}")) if txn is not None else None
            if owed is not None:
                owed.reason = rev.reason

    def _act(self, term: Terminal, op: Op) -> Outcome | None:
        card, pin = ops.card_and_pin(op, self.cards)
        if op.action == "sale":
            return term.sale(op.amount, CardInput(track2=card["track2"]), pin)
        if op.action == "balance":
            return term.balance(card["track2"], pin)
        if op.action == "settle":
            return term.settle()
        target = ops.original(op, term.journal.txns(), term.batch)
        if target is None:
            return None
        stan, amount = target
        if op.action == "void":
            return term.void(stan)
        return term.refund(stan, amount)

    def _heal_and_check(self) -> list[Violation]:
        self.net.fault = None
        self.crash_step = None
        if self.host.down:
            self.host.restart()
        for _round in range(2):
            for i in range(len(self.terms)):
                term = self._terminal(i)
                term.recover(explicit=True)
        for i in range(len(self.terms)):
            self._terminal(i).settle()
        views = [TerminalView(self.tids[i], self._terminal(i).journal, self._terminal(i).keys)
                 for i in range(len(self.terms))]
        found = check_all(self.host.service.store, self.host.secrets, views, opening_total=0)
        for i in range(len(self.terms)):
            self._terminal(i).close()  # a clean exit ends the last session of the log
            self.terms[i] = None
            found += episode_violations(self.tids[i], events_path(self.paths[i]),
                                        self.abandoned[i])
        return found + wire_violations(self.observer.report()) + self.net.attack_found


def _last_txn_id(term: Terminal) -> int:
    txns = term.journal.txns()
    return txns[-1].id if txns else 0


def tmp_root() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None


def run(schedule: Schedule, terminal_cls: type[Terminal] = Terminal) -> RunResult:
    return Simulation(schedule, terminal_cls).run()
