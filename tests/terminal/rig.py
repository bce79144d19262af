"""The terminal tests' rig: the real host in-process, a man-in-the-middle proxy between terminal
and host that records every request (and can swallow, drop or corrupt answers), terminals driven
through the engine, through the CLI in-process (CliRunner) or as killable `steadypos`
subprocesses, and plain reads of the journal, the host's ledger, the key store and the event log.

Money is always checked on the host's side (its `accounts` table), journal rows on the terminal's
side (its SQLite file), and what went over the wire through the proxy's record."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.processes import child_env
from typer.testing import CliRunner

from steadypos.host import app as host_app
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv
from steadypos.host.secrets import open_keys
from steadypos.host.server import HostServer
from steadypos.host.settings import default_keys_path
from steadypos.host.sqlite_store import read_only
from steadypos.protocol.codec import Message, decode_payload
from steadypos.protocol.frame import recv_payload, with_length
from steadypos.protocol.mti import response_mti
from steadypos.terminal.commands import terminal_app
from steadypos.terminal.events import events_path
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import OUTCOMES
from steadypos.terminal.observer import Observer
from steadypos.terminal.settings import TerminalSettings

DEMO: dict[str, list[dict[str, Any]]] = demo_data()
TERM = DEMO["terminals"][0]
TID, MID = TERM["tid"], TERM["mid"]
START_TIMEOUT = 20.0


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
    """The real server and group writer on a background thread with its own event loop, and
    read-only views of its database."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.server: HostServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._accounts: dict[str, str] = {}

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def start(self) -> HostRig:
        self.server = host_app.build(self.db, f"{self.db}.keys", "127.0.0.1", 0, seed_demo=True,
                                     synchronous="OFF")
        started = threading.Event()
        server, loop = self.server, self._loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(server.start())
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="host-loop", daemon=True)
        self._thread.start()
        assert started.wait(START_TIMEOUT), "in-process host did not start"
        return self

    def stop(self) -> None:
        if self.server is None:
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(grace=1.0), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self.server.writer.stop()
        self.server = None

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
            row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account,)).fetchone()
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


# -- the terminal's files ---------------------------------------------------------------------
@dataclass
class JournalView:
    """A snapshot of the terminal's journal, read with plain SQL."""

    txns: list[dict[str, Any]]
    steps: list[tuple[int, str, str]]
    reversals: list[dict[str, Any]]
    counters: dict[str, int]

    @classmethod
    def read(cls, path: Path) -> JournalView:
        with closing(read_only(path)) as conn:
            conn.row_factory = sqlite3.Row
            txns = [dict(r) for r in conn.execute("SELECT * FROM txns ORDER BY id")]
            steps = [(r["txn_id"], r["step"], r["detail"])
                     for r in conn.execute("SELECT * FROM steps ORDER BY id")]
            revs = []
            for r in conn.execute("SELECT * FROM reversals ORDER BY txn_id"):
                rec = dict(r)
                rec["fields"] = {int(k): v for k, v in json.loads(rec["fields"]).items()}
                revs.append(rec)
            counters = {r["name"]: r["value"] for r in conn.execute("SELECT * FROM counters")}
        return cls(txns, steps, revs, counters)

    def txn(self, stan: int, kind: str | None = None) -> dict[str, Any]:
        found = [t for t in self.txns if t["stan"] == stan and kind in (None, t["kind"])]
        assert found, f"no txn with STAN {stan:06d} in the journal"
        return found[-1]

    def steps_of(self, stan: int) -> list[str]:
        txn_id = self.txn(stan)["id"]
        return [s for tid, s, _ in self.steps if tid == txn_id]

    def reversal_of(self, stan: int) -> dict[str, Any] | None:
        txn_id = self.txn(stan)["id"]
        return next((r for r in self.reversals if r["txn_id"] == txn_id), None)


def dump_tables(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row of every table of a journal: equal dumps mean nothing was written."""
    with closing(read_only(path)) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(n, conn.execute(f"SELECT * FROM {n}").fetchall()) for n in names]


def read_events(journal: Path) -> list[dict[str, Any]]:
    """The event log; fails on a line that is not a JSON object with ts, tid and type."""
    out = []
    for i, line in enumerate(events_path(journal).read_text().splitlines(), 1):
        rec = json.loads(line)
        assert isinstance(rec, dict) and {"ts", "tid", "type"} <= rec.keys(), f"line {i}: {line}"
        out.append(rec)
    return out


FLOW_SCREENS = ("amount", "card", "pin", "online", "receipt")


def episodes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Episodes as docs/flash-exit-diagnosis.md defines them: a flow that left `idle` and then
    reached `idle`, an app start or a non-normal app exit without a `result` screen and without an
    operator cancel. Each: the screen where it broke and what ended it."""
    found: list[dict[str, Any]] = []
    in_flow, last, finished = False, None, False
    for ev in events:
        kind = ev["type"]
        ends = (kind == "screen" and ev["screen"] == "idle") or (
            kind == "app" and (ev["event"] == "start" or ev.get("reason") != "normal"))
        if ends:
            if in_flow and not finished:
                found.append({"screen": last, "ended_by": _ended_by(ev), "ts": ev["ts"]})
            in_flow, last, finished = False, None, False
            continue
        if kind == "screen" and ev["screen"] in FLOW_SCREENS:
            in_flow, last = True, ev["screen"]
        elif kind == "screen" and ev["screen"] == "result":
            finished = True
        elif kind == "card":
            in_flow = True
            last = last or "card"
        elif kind == "pin" and ev.get("outcome") == "cancelled":
            finished = True
    return found


def _ended_by(ev: dict[str, Any]) -> str:
    if ev["type"] == "screen":
        return "idle"
    return "app start" if ev["event"] == "start" else f"app exit {ev.get('reason')}"


def keystore(journal: Path) -> dict[str, Any]:
    return json.loads(journal.with_name(journal.name + ".keys").read_text())


def receipts(journal: Path) -> dict[str, str]:
    """Receipt files by name (`BATCH-STAN.txt`)."""
    folder = journal.with_name(journal.name + ".receipts")
    if not folder.exists():
        return {}
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def card_file(folder: Path, card: dict[str, Any], **changes: Any) -> Path:
    """A chip card as the reader's card file (pan, expiry, psn, icc_mk, atc)."""
    data = {k: card[k] for k in ("pan", "expiry", "psn", "icc_mk")}
    data["atc"] = 1
    data.update(changes)
    path = folder / f"card-{card['pan'][-4:]}.json"
    path.write_text(json.dumps(data))
    return path


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
