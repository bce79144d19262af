"""Crash proof (pos-link-v1 §6, §7): a real terminal process against a real host process, killed
with SIGKILL at every journal step, at random moments, and with the host killed mid-sale and
restarted. After `terminal recover` the books must agree: for every card the host's balance moved
by exactly what the terminal's journal shows as charged (sales approved, minus voids and refunds),
no sale is posted twice, and the host's ledger checks out."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from crashrig import (
    TerminalCli,
    check_books,
    crash_host,
    journal_txn,
    journal_txns,
    log_of,
    size_of,
    text_since,
    wait_for_event,
    yuan,
)
from support.processes import ledger_check
from support.world import rich_cards

from steadypos.host.process import HostProcess
from steadypos.terminal.steps import STEPS

SEED = 20240611
RANDOM_KILLS = 10
KILL_WINDOW = 0.150  # seconds after the terminal process started its work (its app-start event)
HOST_KILL_WINDOW = 0.030  # about one sale's work: the host dies while a sale is still going
HOST_KILLS = 7

# The journal steps each flow goes through (void and refund enter no PIN; a refund is not
# reversible, so it stores and clears no reversal record).
FLOW_STEPS = {
    "sale": STEPS,
    "void": tuple(s for s in STEPS if s != "pin_captured"),
    "refund": tuple(s for s in STEPS
                    if s not in ("pin_captured", "reversal_stored", "reversal_cleared")),
}


def final_state(kind: str, killed_at: str) -> str:
    """The state §6 leaves a flow in once recovered, by the step after which it was killed."""
    i = STEPS.index(killed_at)
    if i < STEPS.index("request_sent"):
        return "failed"  # nothing left the terminal: not charged
    if kind == "refund":
        return "approved"  # not reversible: recover re-sends it and the host's answer decides
    # Sent: reversed (98, or 96 when the journal entry was written but the record not cleared).
    return "reversed" if i < STEPS.index("reversal_cleared") else "approved"


@pytest.fixture()
def live_host(tmp_path: Path) -> Iterator[HostProcess]:
    """A host subprocess of its own (not conftest's in-process `host`): these tests kill it."""
    h = crash_host(tmp_path / "host.db").start()
    try:
        yield h
    finally:
        h.stop()


def assert_books(host: HostProcess, *terms: TerminalCli) -> None:
    journals = {t.tid: t.journal_rows() for t in terms}
    problems = check_books(Path(host.db), journals)
    assert not problems, "books disagree:\n" + "\n".join(problems)
    check = ledger_check(Path(host.db))
    assert check.returncode == 0, check.stdout + check.stderr


def test_kill_at_every_step_then_recover(live_host: HostProcess, tmp_path: Path) -> None:
    host = live_host
    cards = rich_cards()
    term = TerminalCli(tmp_path / "t1.journal", index=0)
    assert term.init(host).rc == 0
    wrong: list[str] = []
    for i, step in enumerate(STEPS):
        card = cards[i % len(cards)]
        fen = 1_000 + 37 * i

        # A sale killed right after `step` is durable.
        run = term.run("sale", "--amount", yuan(fen), "--track2", card["track2"],
                       "--pin", card["pin"], kill_at=step)
        assert run.rc == -signal.SIGKILL, f"sale not killed at {step}: {run.stdout}"
        killed = journal_txns(term.journal)[-1]
        assert killed["kind"] == "sale" and killed["step"] == step, killed
        term.recover()
        got = journal_txn(term.journal, killed["stan"])
        if got["state"] != final_state("sale", step) or got["pending"]:
            wrong.append(f"sale killed at {step}: {got['state']} ({got['message']})")

        # A void killed at `step`, of a sale approved just before (set up in-process).
        if step in FLOW_STEPS["void"]:
            base = term.sale_in_process(fen + 1, card)
            assert base.result == "approved", base
            run = term.run("void", "--stan", str(base.stan), kill_at=step)
            assert run.rc == -signal.SIGKILL, f"void not killed at {step}: {run.stdout}"
            void_stan = journal_txns(term.journal)[-1]["stan"]
            term.recover()
            void, sale = journal_txn(term.journal, void_stan), journal_txn(term.journal, base.stan)
            want = final_state("void", step)
            want_sale = "voided" if want == "approved" else "approved"
            if (void["state"], sale["state"]) != (want, want_sale) or void["pending"]:
                wrong.append(f"void killed at {step}: void {void['state']}, sale {sale['state']}")

        # A partial refund killed at `step`.
        if step in FLOW_STEPS["refund"]:
            base = term.sale_in_process(fen + 2, card)
            assert base.result == "approved", base
            part = (fen + 2) // 3
            run = term.run("refund", "--stan", str(base.stan), "--amount", yuan(part),
                           kill_at=step)
            assert run.rc == -signal.SIGKILL, f"refund not killed at {step}: {run.stdout}"
            refund_stan = journal_txns(term.journal)[-1]["stan"]
            term.recover()
            refund = journal_txn(term.journal, refund_stan)
            sale = journal_txn(term.journal, base.stan)
            want = final_state("refund", step)
            want_refunded = part if want == "approved" else 0
            if (refund["state"], sale["refunded"]) != (want, want_refunded):
                wrong.append(f"refund killed at {step}: refund {refund['state']} "
                             f"({refund['message']}), sale refunded {sale['refunded']}")
    assert not wrong, "after recover:\n" + "\n".join(wrong)
    assert_books(host, term)


def _kill_after_start(term: TerminalCli, proc: subprocess.Popen[str], offset: int,
                      delay: float) -> None:
    """SIGKILL `proc` `delay` seconds after it started its work (Python start-up excluded)."""
    wait_for_event(term, offset, proc, {"type": "app", "event": "start"})
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)


def test_kill_at_random_moments_then_recover(live_host: HostProcess, tmp_path: Path) -> None:
    host = live_host
    rng = random.Random(SEED)
    cards = rich_cards()
    term = TerminalCli(tmp_path / "t2.journal", index=1)
    assert term.init(host).rc == 0
    plan = ["sale"] * (RANDOM_KILLS - 4) + ["void", "void", "refund", "refund"]
    rng.shuffle(plan)
    # Python start-up (~0.3 s) is no moment to kill at, so the delay counts from the terminal's
    # app-start event; and as a sale's work takes well under 150 ms (10-40 ms, then ~50 ms of
    # interpreter exit), the window is cut to one sale's work here (app start to app exit in its
    # event log, measured on an unkilled run), so that the kills spread over the work rather
    # than over the exit.
    card = cards[-1]
    assert term.sale_in_process(100, card).result == "approved"  # signs in: not measured
    offset = term.events_size()
    run = term.run("sale", "--amount", "1.00", "--track2", card["track2"], "--pin", card["pin"])
    assert run.rc == 0, run.stdout
    app = [datetime.fromisoformat(e["ts"].replace("Z", "+00:00"))
           for e in term.events_since(offset) if e["type"] == "app"]
    window = min(KILL_WINDOW, max(0.010, (app[-1] - app[0]).total_seconds()))
    landed: list[str] = []
    for n, kind in enumerate(plan):
        args = _op_args(term, kind, cards[n % len(cards)], rng.randrange(100, 50_000), 2)
        before = len(journal_txns(term.journal))
        offset = term.events_size()
        proc = term.spawn(kind, *args)
        _kill_after_start(term, proc, offset, rng.uniform(0, window))
        proc.communicate(timeout=60)
        rows = journal_txns(term.journal)
        where = f"at {rows[-1]['step']}" if len(rows) > before else "before flow_started"
        if proc.returncode >= 0:
            where = "finished before the kill"
        else:
            where = "killed " + ("after the flow" if where == "at receipt_printed" else where)
        landed.append(f"{kind}: {where}")
        term.recover()
    print(f"random kills in {window * 1000:.0f} ms after start:", *landed, sep="\n  ")
    assert_books(host, term)


def _op_args(term: TerminalCli, kind: str, card: dict[str, Any], fen: int,
             refund_share: int) -> list[str]:
    """The command line of a sale, or of a void / partial refund (1/refund_share) of a sale
    made in-process first."""
    if kind == "sale":
        return ["--amount", yuan(fen), "--track2", card["track2"], "--pin", card["pin"]]
    base = term.sale_in_process(fen, card)
    assert base.result == "approved", base
    args = ["--stan", str(base.stan)]
    if kind == "refund":
        args += ["--amount", yuan(max(fen // refund_share, 1))]
    return args


def _trigger(mode: str, kind: str, term: TerminalCli, host: HostProcess,
             proc: subprocess.Popen[str], ev_offset: int, log_offset: int,
             rng: random.Random) -> None:
    """Wait for the moment to kill the host at."""
    if mode == "sent":  # the terminal is sending (or has sent) the request
        wait_for_event(term, ev_offset, proc, {"type": "txn", "kind": kind, "phase": "sent"})
        time.sleep(rng.uniform(0, 0.004))
    elif mode == "handled":  # the host has worked out its answer, maybe not yet committed it
        deadline = time.monotonic() + 20
        log = log_of(host.db)
        while (f" {kind} stan=" not in text_since(log, log_offset) and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.0005)
    else:  # any moment of the terminal's work
        wait_for_event(term, ev_offset, proc, {"type": "app", "event": "start"})
        time.sleep(rng.uniform(0, HOST_KILL_WINDOW))


def test_host_killed_mid_sale_restarted_then_recover(live_host: HostProcess,
                                                     tmp_path: Path) -> None:
    host = live_host
    rng = random.Random(SEED + 1)
    cards = rich_cards()
    term = TerminalCli(tmp_path / "t3.journal", index=2)
    assert term.init(host, timeout=2).rc == 0
    plan = ["sale"] * (HOST_KILLS - 2) + ["void", "refund"]
    rng.shuffle(plan)
    modes = ("sent", "handled", "random")
    outcomes: list[str] = []
    for n, kind in enumerate(plan):
        args = _op_args(term, kind, cards[n % len(cards)], rng.randrange(100, 50_000), 3)
        mode = modes[n % len(modes)]
        ev_offset, log_offset = term.events_size(), size_of(log_of(host.db))
        proc = term.spawn(kind, *args)
        _trigger(mode, kind, term, host, proc, ev_offset, log_offset, rng)
        host.kill()
        proc.communicate(timeout=60)
        # 0 answered in time, 1 could not connect (not charged), 3 no answer: reversal pending.
        assert proc.returncode in (0, 1, 3), f"{kind} exited {proc.returncode}"
        outcomes.append(f"{kind}, host killed on '{mode}': terminal exit {proc.returncode}")
        host.restart()
        term.recover()
    print("host kills:", *outcomes, sep="\n  ")
    assert host.starts == HOST_KILLS + 1
    assert_books(host, term)
