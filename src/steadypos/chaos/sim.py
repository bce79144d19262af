"""Deterministic simulation: host, terminals, network and clock in one process, driven by one seed,
with no sockets and no sleeping, so that a failure replays exactly from its seed."""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from steadypos.chaos import ops
from steadypos.chaos.conformance import RuleWatch
from steadypos.chaos.invariants import (
    CheckedTerminal,
    Violation,
    check_all,
    episode_violations,
    wire_violations,
)
from steadypos.chaos.schedule import ATTACK_FAULTS, NETWORK_FAULTS, Op, Schedule
from steadypos.chaos.simworld import SimClock, SimCrash, SimHost, SimNet, Trace
from steadypos.terminal.events import events_path
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.journal import JournalError
from steadypos.terminal.outcome import Outcome
from steadypos.terminal.settings import TerminalSettings


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
        self.observer = RuleWatch()
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
        views = [CheckedTerminal(self.tids[i], self._terminal(i).journal, self._terminal(i).keys)
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
