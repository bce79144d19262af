"""A chaos schedule against real processes on loopback: a `steadypos host` subprocess, the fault
proxy in this process, and two terminals driven through `python -m steadypos terminal`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from steadypos.chaos import attacks, ops
from steadypos.chaos.broken import BROKEN
from steadypos.chaos.invariants import (
    TerminalView,
    Violation,
    check_all,
    episode_violations,
    wire_violations,
)
from steadypos.chaos.outsider import Outsider
from steadypos.chaos.proxy import FaultProxy
from steadypos.chaos.schedule import ATTACK_FAULTS, NETWORK_FAULTS, Op, Schedule
from steadypos.chaos.sim import RunResult, tmp_root
from steadypos.chaos.toxics import DOWNSTREAM, UPSTREAM
from steadypos.host import process
from steadypos.host.app import CLOCK_ENV
from steadypos.host.process import steadypos_argv
from steadypos.host.secrets import open_keys
from steadypos.host.settings import default_keys_path
from steadypos.host.store import open_store
from steadypos.masking import scrub
from steadypos.money import format_fen
from steadypos.terminal.events import events_path
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import Journal
from steadypos.terminal.keystore import KeyStore

LOOPBACK = "127.0.0.1"
TIMEOUT = 1.0  # the terminals' answer timeout (2 s in the simulation, where waiting is free)
START_TIMEOUT = 20.0
COMMAND_TIMEOUT = 60.0  # a terminal command that takes longer is hung
POLL = 0.002
# The host's test hook this process may carry in its environment: the host gets only its own.
# The terminals get their faults as `steadypos terminal` options (TerminalSettings).
HOOKS = (CLOCK_ENV,)
CRASH_AT = "--crash-at"
MIDNIGHT_MINUS_2 = clock_time(23, 59, 58)


class ChaosHost(process.HostProcess):
    """`steadypos host` on the run's database, in conformance mode without provoking anything
    itself (for the wire rules), with one report per start so that a restart does not overwrite
    what the last one saw; the demo seeded at the first start."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        super().__init__(root / "host.db", stderr=root / "host.stderr", timeout=START_TIMEOUT)
        self.root, self.base_env = root, env
        self.reports: list[Path] = []

    def start_with(self, extra_env: dict[str, str]) -> None:
        """Start (again, on the same port) with the test hooks `extra_env` for this start."""
        report = self.root / f"conformance-{self.starts + 1}.json"
        self.reports.append(report)
        opts = ["--conformance-report", str(report), "--withhold-rate", "0",
                "--corrupt-mac-rate", "0", *(["--seed-demo"] if not self.starts else [])]
        self.env = {**self.base_env, **extra_env}
        try:
            self.start(opts)
        except process.HostStartError as exc:
            raise RuntimeError(f"the host did not start on port {self.port}: "
                               f"{self.stderr()[-500:]}") from exc

    def save_report(self) -> None:
        """Have the host write its conformance report now: a SIGKILL later loses only what it
        sees after this."""
        if self.up:
            self.proc.send_signal(signal.SIGUSR1)  # type: ignore[union-attr]


class RealRun:
    """One schedule, with real processes, from a clean world to a healed one, then checked."""

    def __init__(self, schedule: Schedule, terminal_cls: type[Terminal] = Terminal,
                 root: Path | None = None, attacks: bool = True) -> None:
        self.schedule = schedule
        self.terminal_cls = terminal_cls
        self.attacks = attacks  # False: the same run with the outsider silent
        self.env = {k: v for k, v in os.environ.items() if k not in HOOKS}
        self.term_opts: dict[str, str] = {}  # `steadypos terminal` options for every command
        broken = [name for name, cls in BROKEN.items() if cls is terminal_cls]
        if broken:
            self.term_opts["--behave"] = broken[0]
        elif terminal_cls is not Terminal:
            raise ValueError(f"a real run cannot run {terminal_cls.__name__}: it is not a "
                             f"terminal `steadypos terminal` knows")
        self.root = Path(tempfile.mkdtemp(prefix="steadypos-real-", dir=root or tmp_root()))
        self.cards = ops.demo_cards()
        self.terminals = ops.demo_terminals()
        self.paths = [self.root / f"t{i + 1}.db" for i in range(len(self.terminals))]
        self.abandoned = [0] * len(self.paths)  # crashes and abandoned flows each log must show
        self.last_rc = 0  # exit status of the last terminal command
        self.host = ChaosHost(self.root, self.env)
        self.proxy: FaultProxy | None = None
        self.clock: tuple[datetime, float] | None = None  # host time at a monotonic instant
        self.trace: list[str] = []
        self.hung: list[Violation] = []
        self.outsider = Outsider(lambda: (LOOPBACK, self.host.port), self._note)
        self.proc: subprocess.Popen[bytes] | None = None

    # -- running ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        try:
            self._start()
            for n, op in enumerate(self.schedule.ops):
                self._note(f"{n + 1:2d}. {op.describe()}")
                self._run_op(op)
            violations = self._heal_and_check()
        finally:
            self._close()
        violations += self._caused_by_attacks()
        return RunResult(self.schedule.seed, self.schedule, violations, self.trace, sim=False)

    def _caused_by_attacks(self) -> list[Violation]:
        """(i) the disturbances an attack caused (`attacks.Watch`). Real processes are not
        deterministic: a disturbance the quiet run's timing happened to avoid is blamed too."""
        if not self.outsider.watch.disturbed:
            return []
        quiet = RealRun(self.schedule, self.terminal_cls, attacks=False)
        quiet.run()
        return self.outsider.watch.caused(quiet.outsider.watch)

    def _start(self) -> None:
        self.host.start_with(self._host_env())
        self.proxy = FaultProxy((LOOPBACK, self.host.port), (LOOPBACK, 0),
                                seed=self.schedule.seed)
        self.proxy.tap = self.outsider.tap
        self.proxy.start()
        for path, t in zip(self.paths, self.terminals, strict=True):
            self._command(path, ["init", "--host", LOOPBACK, "--port", str(self.proxy.port),
                                 "--tid", t["tid"], "--mid", t["mid"], "--tmk", t["tmk"],
                                 "--timeout", str(TIMEOUT)])

    def _close(self) -> None:
        """End every process and remove the directory, whatever fails on the way."""
        with contextlib.ExitStack() as stack:
            stack.callback(shutil.rmtree, self.root, ignore_errors=True)
            if self.proxy is not None:
                stack.callback(self.proxy.stop)
            stack.callback(self.host.kill)
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def _note(self, line: str) -> None:
        self.trace.append(scrub(line))

    # -- the host ---------------------------------------------------------------------------
    def _host_env(self) -> dict[str, str]:
        if self.clock is None:
            return {}
        at, since = self.clock
        return {CLOCK_ENV: (at + timedelta(seconds=time.monotonic() - since)).isoformat()}

    def _restart_host(self) -> None:
        self.host.stop()
        self.host.start_with(self._host_env())
        self._note("  host restarted (SIGTERM)")

    def _kill_host(self) -> None:
        self.host.kill()
        self._note("  host SIGKILLed with a request in flight")

    def _on_frame(self, direction: str, times: int, act: Callable[[], None]) -> Callable[[], None]:
        """A poll that does `act` when the proxy has seen a new frame `direction`, `times` times."""
        assert self.proxy is not None
        proxy = self.proxy
        seen, left = proxy.frames[direction], times

        def poll() -> None:
            nonlocal seen, left
            if left and proxy.frames[direction] > seen:
                left -= 1
                act()
                seen = proxy.frames[direction]
        return poll

    # -- one operation ----------------------------------------------------------------------
    def _run_op(self, op: Op) -> None:
        assert self.proxy is not None
        events = len(self.proxy.events())
        opts, poll, undo = self._arm(op)
        try:
            self._act(op, opts, poll)
        finally:
            undo()
            for e in self.proxy.events()[events:]:
                self._note(f"  proxy: {e.name} {e.direction} frame {e.frame}: {e.detail}")
            if self.host.up:
                self.host.save_report()
            else:
                self.host.start_with(self._host_env())
                self._note("  host restarted")

    def _arm(self, op: Op) -> tuple[dict[str, str], Callable[[], None] | None,
                                    Callable[[], None]]:
        """The op's fault: (the terminal command's options, a poll to run while it runs, what
        undoes the fault afterwards)."""
        assert self.proxy is not None
        fault, roll = op.fault, op.roll
        opts: dict[str, str] = {}
        poll: Callable[[], None] | None = None
        undo: Callable[[], None] = lambda: None  # noqa: E731
        if fault in NETWORK_FAULTS:
            self.proxy.clear()  # an earlier fault may still be in force, as in the simulation
            for toxic in ops.network_toxics(fault, roll, TIMEOUT):
                self.proxy.add(toxic)
            if fault == "kill_host":
                direction = DOWNSTREAM if ops.variant(roll, 3) == 2 else UPSTREAM
                poll = self._on_frame(direction, 1, self._kill_host)
            elif fault == "host_restart":
                poll = self._on_frame(UPSTREAM, ops.hits(roll), self._restart_host)
        elif fault in ATTACK_FAULTS:
            self.proxy.clear()  # the outsider alone, with nothing else, as in the simulation
            if self.attacks:
                undo = self._attack(op)
        elif fault == "kill_terminal":
            opts[CRASH_AT] = ops.kill_step(roll)
        elif fault in ops.DISK_FAULTS:
            kind, nth = ops.disk_fault(fault, roll)
            opts["--disk-fault"] = f"{kind}:{nth}"
        elif fault in ops.DEVICE_FAULTS:
            device, switch = ops.DEVICE_FAULTS[fault]
            opts["--fault"] = f"{device}={switch}"
        elif fault == "clock_midnight":
            self.clock = (datetime.combine(date.today(), MIDNIGHT_MINUS_2), time.monotonic())
            self._note("  host clock set to 23:59:58")
            self._restart_host()
        elif fault == "param_mismatch":
            path = self.paths[op.term]
            with contextlib.closing(Journal(path)) as journal:
                cfg = journal.config()
                bad = ops.bad_params(roll, cfg)
                good = {key: cfg[key] for key in bad}
                journal.set_config(bad)

            def undo() -> None:
                with contextlib.closing(Journal(path)) as j:
                    j.set_config(good)
        return opts, poll, undo

    def _attack(self, op: Op) -> Callable[[], None]:
        """A stranger's messages now, or the forgeries of the terminal's next MAC'd request once
        the operation is done (what undoes the fault)."""
        tid = self.terminals[op.term]["tid"]
        if op.fault == "forged_frame":
            self.outsider.forge_next(tid, op.roll)
            return self.outsider.forge
        with contextlib.closing(Journal(self.paths[op.term])) as journal:
            mid, batch = journal.config()["mid"], journal.batch()
        self.outsider.stranger(tid, mid, batch, op.roll)
        return lambda: None

    def _act(self, op: Op, opts: dict[str, str], poll: Callable[[], None] | None) -> None:
        path = self.paths[op.term]
        card, pin = ops.card_and_pin(op, self.cards)
        if op.action == "sale":
            args = ["sale", "--amount", format_fen(op.amount), "--track2", card["track2"],
                    "--pin", pin]
        elif op.action == "balance":
            args = ["balance", "--track2", card["track2"], "--pin", pin]
        elif op.action == "settle":
            args = ["settle"]
        else:
            with contextlib.closing(Journal(path)) as journal:
                target = ops.original(op, journal.txns(), journal.counter("batch", 1))
            if target is None:
                self._note(f"  nothing to {op.action}")
                return
            stan, amount = target
            args = ["void", "--stan", str(stan)]
            if op.action == "refund":
                args = ["refund", "--stan", str(stan), "--amount", format_fen(amount)]
        before = _rows(path)
        outcome = self._command(path, args, opts, poll)
        row_written = _rows(path) > before
        if self.last_rc == -signal.SIGKILL:
            self.abandoned[op.term] += ops.in_flow(op.action, row_written)
        elif outcome is not None:
            self.abandoned[op.term] += ops.abandoned(op.action, str(outcome.get("result")),
                                                     str(outcome.get("message")), row_written)

    def _command(self, journal: Path, args: list[str], opts: dict[str, str] | None = None,
                 poll: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """Run `steadypos terminal OPTS ARGS --journal J --json`; its JSON outcome, if it printed
        one."""
        out, err = self.root / "term.stdout", self.root / "term.stderr"
        options = [x for kv in {**self.term_opts, **(opts or {})}.items() for x in kv]
        argv = steadypos_argv("terminal", *options, args[0], "--journal", str(journal),
                              *args[1:], "--json")
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                         env=self.env)
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while self.proc.poll() is None:
            if poll is not None:
                poll()
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                self.hung.append(Violation("terminal_hung", f"{journal.stem}: `terminal "
                                           f"{args[0]}` still running after {COMMAND_TIMEOUT} s"))
                break
            time.sleep(POLL if poll is not None else POLL * 5)
        rc = self.last_rc = self.proc.returncode
        self.proc = None
        outcome = _last_json(out.read_text(errors="replace"))
        what = f"  {journal.stem} {args[0]}: exit {rc}"
        if rc == -signal.SIGKILL and opts and CRASH_AT in opts:
            what += f" (SIGKILLed after {opts[CRASH_AT]})"
        if outcome is not None:
            what += f" {outcome.get('result')} rc={outcome.get('rc') or '-'} " \
                    f"STAN {outcome.get('stan') or '-'}: {outcome.get('message')}"
        elif rc not in (0, -signal.SIGKILL):
            lines = err.read_text(errors="replace").strip().splitlines()
            what += f" ({lines[-1] if lines else 'no output'})"
        self._note(what)
        for line in (outcome or {}).get("recovered", []):
            self._note(f"    recovered: {line}")
        return outcome

    # -- healing ----------------------------------------------------------------------------
    def _heal_and_check(self) -> list[Violation]:
        assert self.proxy is not None
        self._note("heal")
        self.proxy.clear()
        if not self.host.up:
            self.host.start_with(self._host_env())
        for _round in range(2):
            for path in self.paths:
                self._command(path, ["recover"])
        for path in self.paths:
            self._command(path, ["settle"])
        self.host.stop()
        store = open_store(self.host.db)
        keys = default_keys_path(self.host.db)  # where `steadypos host --db` keeps them
        assert keys is not None
        journals = [Journal(p) for p in self.paths]
        try:
            views = [TerminalView(t["tid"], j, KeyStore.load(p.with_name(p.name + ".keys")))
                     for t, j, p in zip(self.terminals, journals, self.paths, strict=True)]
            found = check_all(store, open_keys(keys), views, opening_total=0)
        finally:
            store.close()
            for j in journals:
                j.close()
        for report in self.host.reports:
            if report.exists():  # not if the host was SIGKILLed before it wrote one
                found += [v for v in wire_violations(json.loads(report.read_text()))
                          if not _by_outsider(v)]
        for t, path, expected in zip(self.terminals, self.paths, self.abandoned, strict=True):
            found += episode_violations(t["tid"], events_path(path), expected)
        return found + self.hung + self.outsider.found


def _by_outsider(v: Violation) -> bool:
    """A wire breach of the attacker's (numbered from ATTACK_STAN), not the terminal's: the host
    in conformance mode sees every frame, the terminal's and the outsider's alike."""
    stan = v.detail.partition(" STAN ")[2][:6]
    return attacks.is_attack_stan(stan)


def _rows(journal: Path) -> int:
    """The terminal's last journal row id: grows when a command wrote a transaction."""
    with contextlib.closing(Journal(journal)) as j:
        txns = j.txns()
    return txns[-1].id if txns else 0


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        with contextlib.suppress(ValueError):
            data = json.loads(line)
            if isinstance(data, dict):
                return data
    return None


def run(schedule: Schedule, terminal_cls: type[Terminal] = Terminal) -> RunResult:
    return RealRun(schedule, terminal_cls).run()
