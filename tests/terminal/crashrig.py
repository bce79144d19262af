"""Helpers of the crash tests: a `steadypos host` subprocess (support.processes) that can be
SIGKILLed and restarted on the same database and port, a `steadypos terminal` driven through its
CLI (and killed), and the money invariant that must hold between the terminal's journal and the
host's ledger."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.processes import child_env, host_process
from support.world import DEMO

from steadypos.host.process import HostProcess, steadypos_argv
from steadypos.host.sqlite_store import read_only
from steadypos.masking import mask_pan
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.outcome import Outcome

RUN_TIMEOUT = 60.0

# What a journal row means for its card, by kind and final state (-: charged, +: given back).
CHARGED_SALE = ("approved", "refunded", "voided")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


# -- the host -----------------------------------------------------------------------------------
def crash_host(db: Path) -> HostProcess:
    """`steadypos host` on a file, logging to DB.log; kill() is SIGKILL, restart() reopens the
    same database and port."""
    return host_process(db, log_file=log_of(db))


def log_of(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".log")


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def text_since(path: Path, offset: int) -> str:
    """What was appended to a file (a log, an event log) since it was `offset` bytes long."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


# -- the terminal -------------------------------------------------------------------------------
@dataclass
class TerminalRun:
    """One `steadypos terminal` command as it ended: exit status, its JSON, what it printed."""

    rc: int
    out: dict[str, Any] | None
    stdout: str
    stderr: str


@dataclass
class TerminalCli:
    """One terminal (demo terminal `index`) driven through `steadypos terminal ...`."""

    journal: Path
    index: int = 0
    calls: int = 0  # CLI runs so far (each costs a Python start-up)

    @property
    def demo(self) -> dict[str, Any]:
        return DEMO["terminals"][self.index]

    @property
    def tid(self) -> str:
        return str(self.demo["tid"])

    @property
    def events(self) -> Path:
        return self.journal.with_name(self.journal.name + ".events.jsonl")

    def argv(self, command: str, *args: str, kill_at: str | None = None) -> list[str]:
        bench = ["--crash-at", kill_at] if kill_at else []
        return steadypos_argv("terminal", *bench, command, "--journal", str(self.journal),
                              *args, "--json")

    def init(self, host: HostProcess, timeout: float = 30.0) -> TerminalRun:
        t = self.demo
        return self.run("init", "--host", host.host, "--port", str(host.port), "--tid", t["tid"],
                        "--mid", t["mid"], "--tmk", t["tmk"], "--mac", t["mac"],
                        "--timeout", str(timeout))

    def run(self, command: str, *args: str, kill_at: str | None = None) -> TerminalRun:
        self.calls += 1
        proc = subprocess.run(self.argv(command, *args, kill_at=kill_at), capture_output=True,
                              text=True, env=child_env(), timeout=RUN_TIMEOUT,
                              stdin=subprocess.DEVNULL)
        out = None
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if lines:
            out = json.loads(lines[-1])
        return TerminalRun(proc.returncode, out, proc.stdout, proc.stderr)

    def spawn(self, command: str, *args: str) -> subprocess.Popen[str]:
        self.calls += 1
        return subprocess.Popen(self.argv(command, *args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=child_env(),
                                stdin=subprocess.DEVNULL)

    def recover(self) -> TerminalRun:
        run = self.run("recover")
        assert run.rc == 0, f"recover exited {run.rc}: {run.stdout} {run.stderr[-2000:]}"
        return run

    def journal_rows(self) -> list[dict[str, Any]]:
        run = self.run("journal")
        assert run.rc == 0 and run.out is not None, run.stderr[-2000:]
        return list(run.out["transactions"])

    def events_size(self) -> int:
        return size_of(self.events)

    def events_since(self, offset: int) -> list[dict[str, Any]]:
        out = []
        for line in text_since(self.events, offset).splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by the kill
        return out

    # In-process, for set-up only (no Python start-up per call): approved sales to void/refund.
    def sale_in_process(self, fen: int, card: dict[str, Any]) -> Outcome:
        term = Terminal.open(self.journal)
        try:
            return term.sale(fen, CardInput(track2=card["track2"]), card["pin"])
        finally:
            term.close()


def wait_for_event(term: TerminalCli, offset: int, proc: subprocess.Popen[str],
                   match: dict[str, str], timeout: float = 20.0) -> bool:
    """Poll the terminal's event log (from `offset`) until an event has all of `match`; False
    when the process ended first or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in term.events_since(offset):
            if all(ev.get(k) == v for k, v in match.items()):
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.0005)
    return False


def journal_txns(journal: Path) -> list[dict[str, Any]]:
    """The journal's txns table read straight from the file (read-only, no recovery run), each
    with `pending`: whether a reversal record is still kept for it."""
    with closing(read_only(journal)) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(
            "SELECT t.*, r.txn_id IS NOT NULL AS pending FROM txns t "
            "LEFT JOIN reversals r ON r.txn_id = t.id ORDER BY t.id")]
    return rows


def journal_txn(journal: Path, stan: int) -> dict[str, Any]:
    return next(r for r in reversed(journal_txns(journal)) if r["stan"] == stan)


# -- the host's side of the books ---------------------------------------------------------------
def host_card_balances(db: Path) -> dict[str, int]:
    """Masked PAN -> the card account's balance on the host."""
    with closing(read_only(db)) as conn:
        rows = conn.execute("SELECT c.pan_masked, a.balance_fen FROM cards c "
                            "JOIN accounts a ON a.id = 'card:' || c.id").fetchall()
    masked = [m for m, _ in rows]
    assert len(masked) == len(set(masked)), "two demo cards share a masked PAN"
    return {m: int(b) for m, b in rows}


def host_postings(db: Path) -> list[tuple[str, str, int]]:
    """(kind, ref, card-side amount) of every posting that touches a card, except openings."""
    with closing(read_only(db)) as conn:
        return [(k, r, int(a)) for k, r, a in conn.execute(
            "SELECT p.kind, p.ref, l.amount FROM postings p "
            "JOIN posting_lines l ON l.posting_id = p.id "
            "WHERE l.account LIKE 'card:%' AND p.kind != 'opening' ORDER BY p.id")]


def expected_card_effect(row: dict[str, Any]) -> int:
    """What the journal says this row did to its card, in fen (negative: charged)."""
    kind, state, amount = row["kind"], row["state"], int(row["amount"])
    if kind == "sale" and state in CHARGED_SALE:
        return -amount
    if kind in ("void", "refund") and state == "approved":
        return amount
    return 0


def check_books(db: Path, journals: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every problem between the journals (tid -> rows, read after recover) and the host's
    ledger. Empty when the books agree."""
    problems: list[str] = []
    opening = {mask_pan(c["pan"]): int(c["balance"]) for c in DEMO["cards"]}
    # 1. Nothing left half-done in any journal.
    for tid, rows in journals.items():
        for r in rows:
            if r["state"] in ("in_progress", "pending_reversal"):
                problems.append(f"{tid} {r['kind']} STAN {r['stan']} still {r['state']}")
            if r["kind"] == "refund" and r["state"] == "failed" and r["rc"] == "00":
                problems.append(f"{tid} refund STAN {r['stan']} approved by the host (rc 00) "
                                f"but failed in the journal: {r['message']}")
    # 2. Per card: the host's balance change equals what the journals show as charged.
    shown: dict[str, int] = defaultdict(int)
    for rows in journals.values():
        for r in rows:
            if expected_card_effect(r):
                shown[r["pan"]] += expected_card_effect(r)
    balances = host_card_balances(db)
    for pan, balance in balances.items():
        if balance - opening[pan] != shown.get(pan, 0):
            problems.append(f"card {pan}: host moved {balance - opening[pan]} fen, the "
                            f"journal shows {shown.get(pan, 0)} fen")
    for pan in shown:
        if pan not in balances:
            problems.append(f"card {pan} of the journal is unknown to the host")
    # 3. Per request: at most one sale (and one reversal) posting per TID + batch + STAN, and
    #    what the host kept for it is what the journal shows; no posting the journal lacks.
    postings = host_postings(db)
    per_ref: dict[str, int] = defaultdict(int)
    counts = Counter((kind, ref) for kind, ref, _ in postings)
    for (kind, ref), n in counts.items():
        if n > 1:
            problems.append(f"{n} {kind} postings for {ref}: charged twice")
    for _kind, ref, amount in postings:
        per_ref[ref] += amount
    known: set[str] = set()
    for tid, rows in journals.items():
        for r in rows:
            if r["kind"] not in ("sale", "void", "refund"):
                continue
            ref = f"{tid}/{r['batch']}/{r['stan']}"
            known.add(ref)
            want = expected_card_effect(r)  # a sale's voids and refunds have their own STANs
            if per_ref.get(ref, 0) != want:
                problems.append(f"{ref} ({r['kind']} {r['state']}): host kept "
                                f"{per_ref.get(ref, 0)} fen, journal shows {want}")
    for ref in per_ref:
        if ref not in known:
            problems.append(f"host posted money for {ref}, which no journal knows")
    return problems
