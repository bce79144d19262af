"""The terminal tests' rig: the real host in-process, a man-in-the-middle proxy between terminal
and host that records every request (and can swallow, drop or corrupt answers), terminals driven
through the engine, through the CLI in-process (CliRunner) or as killable `steadypos`
subprocesses, and plain reads of the journal, the host's ledger, the key store and the event log
(the proxy is in rigwire.py, the reads of the terminal's files in rigfiles.py).

Money is always checked on the host's side (its `accounts` table), journal rows on the terminal's
side (its SQLite file), and what went over the wire through the proxy's record."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigfiles import (
    JournalView,
    card_file,
    dump_tables,
    episodes,
    keystore,
    read_events,
    receipts,
)
from rigwire import Proxy, closed_port
from support.processes import child_env
from typer.testing import CliRunner

from steadypos.host.demo_data import demo_data
from steadypos.host.embedded import EmbeddedHost
from steadypos.host.process import steadypos_argv
from steadypos.host.secrets import open_keys
from steadypos.host.settings import default_keys_path
from steadypos.host.sqlite_store import read_only
from steadypos.terminal.commands import terminal_app
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import OUTCOMES
from steadypos.terminal.observer import Observer
from steadypos.terminal.settings import TerminalSettings

# The wire and the files live in rigwire.py and rigfiles.py; the tests take them from here too.
__all__ = ["ALLOWED_STATES", "CARD", "CARD2", "CHIP", "DEMO", "KILLED", "LOW", "MID", "QR", "TERM",
           "TID", "HostRig", "JournalView", "Proxy", "Ran", "TerminalRig", "card_file", "cards",
           "closed_port", "dump_tables", "episodes", "keystore", "read_events", "receipts",
           "wrong_pin"]

DEMO: dict[str, list[dict[str, Any]]] = demo_data()
TERM = DEMO["terminals"][0]
TID, MID = TERM["tid"], TERM["mid"]


def cards(kind: str = "magstripe") -> list[dict[str, Any]]:
    """Active demo cards of a kind with at least 1000 yuan, each with its PIN."""
    return [c for c in DEMO["cards"]
            if c["kind"] == kind and c["status"] == "active" and c["balance"] >= 100_000]


CARD = cards()[0]
CARD2 = cards()[1]
CHIP = cards("chip")[0]
LOW = next(c for c in DEMO["cards"] if c["status"] == "active" and c["balance"] < 1000)
QR = DEMO["qr_codes"][0]


def wrong_pin(card: dict[str, Any]) -> str:
    return "000000" if card["pin"] != "000000" else "111111"


# -- the host ---------------------------------------------------------------------------------
class HostRig:
    """The embedded host (steadypos.host.embedded) on the test's database, and read-only views
    of that database."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.embedded: EmbeddedHost | None = None
        self._accounts: dict[str, str] = {}

    @property
    def port(self) -> int:
        assert self.embedded is not None
        return self.embedded.port

    def start(self) -> HostRig:
        self.embedded = EmbeddedHost(self.db, seed_demo=True, synchronous="OFF").start()
        return self

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    # -- views ---------------------------------------------------------------------------
    def _read(self) -> sqlite3.Connection:
        return read_only(self.db)

    def account_of(self, card: dict[str, Any]) -> str:
        """The ledger account of a demo card (`card:<id>`), found through its keyed PAN ref."""
        if card["pan"] not in self._accounts:
            ref = open_keys(default_keys_path(self.db) or "").pan_ref(card["pan"])
            with closing(self._read()) as conn:
                row = conn.execute("SELECT id FROM cards WHERE pan_ref = ?", (ref,)).fetchone()
            assert row is not None, f"no card {card['pan'][-4:]} on the host"
            self._accounts[card["pan"]] = f"card:{row[0]}"
        return self._accounts[card["pan"]]

    def balance(self, account: str) -> int:
        with closing(self._read()) as conn:
            row = conn.execute("SELECT balance_fen FROM accounts WHERE id = ?",
                               (account,)).fetchone()
        return int(row[0]) if row else 0

    def card_balance(self, card: dict[str, Any]) -> int:
        return self.balance(self.account_of(card))

    def wallet_balance(self, wallet: str) -> int:
        return self.balance(f"wallet:{wallet}")

    def txns(self, stan: int | None = None, tid: str = TID) -> list[dict[str, Any]]:
        """The host's transaction rows of a terminal (optionally one STAN), oldest first."""
        sql = "SELECT tid, batch, stan, mti, kind, amount, rc, state FROM txns WHERE tid = ?"
        params: list[Any] = [tid]
        if stan is not None:
            sql += " AND stan = ?"
            params.append(stan)
        with closing(self._read()) as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        keys = ("tid", "batch", "stan", "mti", "kind", "amount", "rc", "state")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def upload_diffs(self, tid: str = TID) -> list[tuple[int, int, str]]:
        with closing(self._read()) as conn:
            return conn.execute("SELECT batch, stan, problem FROM upload_diffs WHERE tid = ? "
                                "ORDER BY id", (tid,)).fetchall()


# -- driving a terminal -----------------------------------------------------------------------
@dataclass
class Ran:
    """What a terminal command ended with: exit status, its JSON (when it printed one), output."""

    code: int
    data: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    @property
    def recovered(self) -> list[str]:
        return list(self.data.get("recovered", []))


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    return {}


class TerminalRig:
    """One terminal (T0000001) with its journal in `folder`, talking to the host through the
    proxy. `cli` runs a command in-process, `spawn` runs it as a subprocess (which may be
    killed at a step), `open` gives the engine itself."""

    runner = CliRunner()

    def __init__(self, folder: Path, host: HostRig, proxy: Proxy) -> None:
        self.folder, self.host, self.proxy = folder, host, proxy
        self.journal = folder / "term.db"

    def init(self, timeout: float = 5.0, port: int | None = None) -> None:
        Terminal.init(self.journal, "127.0.0.1", port or self.proxy.port, TID, MID,
                      bytes.fromhex(TERM["tmk"]), timeout=timeout)

    def set_config(self, **values: str) -> None:
        with closing(sqlite3.connect(self.journal)) as conn, conn:
            conn.executemany("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)",
                             list(values.items()))

    @contextlib.contextmanager
    def open(self, faults: dict[str, str] | None = None,
             observer: Observer | None = None) -> Iterator[Terminal]:
        """The engine itself (what it tells the operator is in `term.recovered`, and what it
        shows goes to `observer`)."""
        term = Terminal.open(self.journal, observer, TerminalSettings(faults=faults or {}))
        try:
            yield term
        finally:
            term.close()

    def cli(self, *args: str, bench: tuple[str, ...] = (), as_json: bool = True,
            env: dict[str, str] | None = None) -> Ran:
        """`steadypos terminal [BENCH] CMD --journal J [--json] ARGS` in-process (`bench`: the
        group's test-bench options, e.g. `--fault printer=jam`; `env`: the command's
        environment, 200 columns unless given)."""
        cmd, *rest = args
        argv = [*bench, cmd, "--journal", str(self.journal), *(["--json"] if as_json else []),
                *rest]
        assert "--crash-at" not in bench, "a kill in-process ends pytest"
        result = self.runner.invoke(terminal_app, argv, env=env or {"COLUMNS": "200"},
                                    catch_exceptions=False)
        out = result.stdout
        return Ran(result.exit_code, _last_json(out) if as_json else {}, out)

    def spawn(self, *args: str, kill_at: str | None = None, faults: str | None = None,
              timeout: float = 60.0) -> Ran:
        """The same command as a `steadypos` subprocess; code -9 when it was killed."""
        cmd, *rest = args
        env = child_env()
        bench = [*(["--crash-at", kill_at] if kill_at else []),
                 *(["--fault", faults] if faults else [])]
        argv = steadypos_argv("terminal", *bench, cmd, "--journal", str(self.journal), "--json",
                              *rest)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        return Ran(proc.returncode, _last_json(proc.stdout), proc.stdout + proc.stderr)

    # -- common steps ------------------------------------------------------------------------
    def sign_in(self) -> None:
        ran = self.cli("sign-in")
        assert ran.code == 0, ran.output

    def sale(self, amount: str = "12.34", card: dict[str, Any] = CARD, pin: str | None = None,
             **kw: Any) -> Ran:
        return self.cli("sale", "--amount", amount, "--track2", card["track2"],
                        "--pin", pin or card["pin"], **kw)

    def view(self) -> JournalView:
        return JournalView.read(self.journal)

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.journal)


KILLED = -signal.SIGKILL
ALLOWED_STATES = frozenset(OUTCOMES)
