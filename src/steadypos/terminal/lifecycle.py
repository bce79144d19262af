"""The terminal's life cycle and its link: init and open (which recovers) and close, its config,
the connection to the host and one exchange on it, the working keys (sign-in, MACs), and what
it tells its observer. The rooms above build the payment on it: online.py, settlement.py,
recovery.py, flows.py."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from steadypos.eventlog import TxnPhase
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Station
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import APPROVED
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import Field60
from steadypos.protocol.frame import PROC_NEW_PARAMS, Tpdu
from steadypos.protocol.link import Connection, Link, LinkError, LinkTimeout
from steadypos.protocol.mac import DEFAULT_MAC, MacAlgorithm
from steadypos.terminal import steps, transport
from steadypos.terminal.devices import Faults
from steadypos.terminal.events import EventLog, events_path
from steadypos.terminal.journal import IN_PROGRESS, PARAMS_WAITING, Journal, Txn
from steadypos.terminal.keystore import KeyStore
from steadypos.terminal.observer import (
    Banner,
    Observer,
    Progress,
    Quiet,
    Screen,
    ScreenShown,
    Stage,
)
from steadypos.terminal.outcome import Charged, Outcome, Result
from steadypos.terminal.releases import Installed
from steadypos.terminal.settings import TerminalSettings
from steadypos.terminal.texts import Text, reason, text

INVALID_MERCHANT = "03"  # the host knows no such TID/MID pair
# A journal made before pos-link-v1.1 names no MAC algorithm: its terminal spoke pos_ecb, and
# the host registered it as legacy when it upgraded.
PRE_1_1_MAC = MacAlgorithm.POS_ECB


class TerminalError(Exception):
    """The terminal cannot run the command (not initialised, bad state file, ...): `str()` in
    English, `say(lang)` in the operator's language."""

    def __init__(self, what: Text | str) -> None:
        super().__init__(str(what))
        self.what = what

    def say(self, lang: str) -> str:
        return self.what.say(lang) if isinstance(self.what, Text) else str(self.what)


def keys_path(journal_path: Path) -> Path:
    """The key store beside a journal."""
    return journal_path.with_name(journal_path.name + ".keys")


@dataclass
class TerminalLifecycle:
    """A terminal with its journal, key store, event log and link; no payment flow yet."""

    journal: Journal
    keys: KeyStore
    events: EventLog
    faults: Faults = field(default_factory=Faults)
    observer: Observer = field(default_factory=Quiet)
    settings: TerminalSettings = field(default_factory=TerminalSettings)
    _conn: Link | None = None
    recovered: list[str] = field(default_factory=list)  # the banners of this session
    # Seams for the deterministic simulation: how to reach the host, and what to do after each
    # journaled step (the simulator crashes the terminal there).
    link_factory: Callable[..., Link] = Connection
    on_step: Callable[[str], None] | None = None

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def init(cls, journal_path: Path, host: str, port: int, tid: str, mid: str, tmk: bytes,
             tpdu: str = "6000030000", timeout: float = 30.0,
             tls: dict[str, str] | None = None, *,
             mac_alg: MacAlgorithm = DEFAULT_MAC) -> None:
        """`tls`: transport.tls_config's entries, to reach the host over TLS."""
        if journal_path.exists():
            raise TerminalError(text("terminal.files.exists", journal=str(journal_path)))
        Tpdu.parse_hex(tpdu)
        journal = Journal(journal_path)
        journal.set_config({"host": host, "port": str(port), "tid": tid, "mid": mid,
                            "tpdu": tpdu.upper(), "timeout": str(timeout),
                            "params_version": "1", "mac": MacAlgorithm(mac_alg).value,
                            **(tls or {})})
        journal.close()
        KeyStore.create(keys_path(journal_path), tmk)

    @classmethod
    def open(cls, journal_path: Path, observer: Observer | None = None,
             settings: TerminalSettings | None = None,
             link_factory: Callable[..., Link] | None = None,
             on_step: Callable[[str], None] | None = None) -> Self:
        """Open the terminal and settle what its journal alone can settle (`recover_offline`).
        `link_factory`: how to reach the host; by default what the config says (TCP or TLS)."""
        if not journal_path.exists() or not keys_path(journal_path).exists():
            raise TerminalError(text("terminal.files.none", journal=str(journal_path)))
        settings = settings or TerminalSettings()
        journal = Journal(journal_path, settings.journal_sync, settings.disk_fault)
        cfg = journal.config()
        events = EventLog(events_path(journal_path), cfg.get("tid", "?"),
                          Installed(journal_path).running_version())
        term = cls(journal, KeyStore.load(keys_path(journal_path)), events,
                   Faults(dict(settings.faults)), observer or Quiet(), settings,
                   link_factory=link_factory or transport.connector(cfg), on_step=on_step)
        events.app_start(steps.broke_at((t.kind, t.step)
                                        for t in journal.txns(state=IN_PROGRESS)))
        events.inventory(cfg.get("mid"), cfg.get("params_version"))
        term.show(Screen.IDLE)
        term.recover_offline()
        return term

    def recover_offline(self) -> None:
        """What opening settles from the journal alone (recovery.py)."""

    def close(self, reason: str = "normal", exc: BaseException | None = None) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.events.app_exit(reason, exc)
        self.events.close()
        self.journal.close()

    def after(self, step: str) -> None:
        """A step is on disk. A crash test bench may kill the terminal right here."""
        if self.settings.crash_at == step:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.on_step is not None:
            self.on_step(step)

    # -- what the operator sees -------------------------------------------------------------
    def show(self, screen: Screen) -> None:
        """Change the screen: the event log has it, and so does the observer."""
        self.events.screen(screen.value)
        self.observer.notify(ScreenShown(screen))

    def progress(self, stage: Stage, kind: str, stan: int | None, what: Text) -> None:
        self.observer.notify(Progress(stage, kind, stan, what))

    def tell(self, txn: Txn, what: Text, charged: Charged | None) -> None:
        """A banner about a flow recovery settled: what became of it, was the customer charged."""
        line = text("terminal.recovery.line", kind=txn.kind, stan=f"{txn.stan:06d}",
                    pan=txn.pan_masked or "-", amount=txn.amount, what=what)
        self.recovered.append(str(line))
        self.observer.notify(Banner(txn.kind, txn.stan, txn.amount, txn.pan_masked, charged,
                                    what, line))
        self.events.emit("recovery", stan=f"{txn.stan:06d}", kind=txn.kind, outcome=str(what))

    # -- configuration ----------------------------------------------------------------------
    @property
    def cfg(self) -> dict[str, str]:
        return self.journal.config()

    @property
    def station(self) -> Station:
        cfg = self.cfg
        return Station(cfg["tid"], cfg["mid"], Tpdu.parse_hex(cfg["tpdu"]))

    @property
    def batch(self) -> int:
        return self.journal.batch()

    @property
    def mac_alg(self) -> MacAlgorithm:
        """The MAC algorithm the host registered this terminal with (§4)."""
        return MacAlgorithm(self.cfg.get("mac", PRE_1_1_MAC))

    # -- the link ---------------------------------------------------------------------------
    def link(self, kind: str = "", stan: int | None = None) -> Link:
        """The connection to the host, opened if there is none."""
        if self._conn is None:
            self.progress(Stage.CONNECTING, kind, stan, text("terminal.progress.connecting"))
            cfg = self.cfg
            timeout = float(cfg["timeout"])
            try:
                self._conn = self.link_factory(cfg["host"], int(cfg["port"]),
                                               connect_timeout=min(timeout, 5.0),
                                               read_timeout=timeout)
            except LinkError:
                self.events.net("connect_fail")
                raise
            self.events.net("up")
        return self._conn

    def drop_link(self, event: str = "reset") -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self.events.net(event)

    def exchange(self, msg: Message, kind: str, stan: int,
                 on_sent: Callable[[], None] | None = None) -> Message:
        """Send and wait for the answer. LinkError(sent=False) means nothing left the terminal.
        An override point: a test bench's terminal may send in its own way."""
        conn = self.link(kind, stan)
        if on_sent is not None:
            on_sent()  # journaled as sent before the first byte goes out
        self.progress(Stage.SENT, kind, stan, text("terminal.progress.sent"))
        started = time.monotonic()
        self.events.txn(kind, stan, TxnPhase.SENT, amount=int(msg.get(4, "0") or 0))
        try:
            conn.send(msg)
            resp = conn.receive()
        except LinkTimeout:
            self.events.txn(kind, stan, TxnPhase.TIMEOUT, started)
            self.drop_link("down")
            raise
        except (LinkError, ProtocolError) as exc:
            self.events.txn(kind, stan, TxnPhase.CONN_FAIL, started)
            self.drop_link("reset")
            raise LinkError(str(exc), sent=True) from exc
        rc = resp.get(39)
        self.events.txn(kind, stan, TxnPhase.RESPONSE, started, rc=rc)
        if resp.header.proc == PROC_NEW_PARAMS and not self.journal.counter(PARAMS_WAITING, 0):
            self.journal.set_counter(PARAMS_WAITING, 1)  # fetched between payments (fleet.py)
        if rc == INVALID_MERCHANT:  # the terminal's parameters are not the bank's
            self.events.emit("params", event="mismatch", field="mid",
                             version=self.cfg.get("params_version"))
        return resp

    # -- keys -------------------------------------------------------------------------------
    def sign_in(self) -> Outcome:
        stan = self.journal.next_stan()
        self.progress(Stage.SIGNING_IN, "sign_in", stan, text("terminal.progress.signing_in"))
        req = builders.sign_in(self.station, stan, self.batch)
        try:
            resp = self.exchange(req, "sign_in", stan)
        except LinkError as exc:
            return Outcome.told(Result.FAILED, text("terminal.result.sign_in_failed",
                                                    why=str(exc)), stan=stan)
        rc = resp.get(39)
        if rc != APPROVED:
            return Outcome.told(Result.DECLINED, text("terminal.result.sign_in_refused", rc=rc,
                                                      rc_text=reason(rc)), rc=rc, stan=stan)
        try:
            keys = unpack_key_block(self.keys.tmk, bytes.fromhex(resp.get(62)))
            batch = Field60.parse(resp.get(60)).batch
        except (ProtocolError, ValueError) as exc:
            self.events.emit("params", event="mismatch", field="keys",
                             version=self.cfg.get("params_version"))
            # Field 62's check values fail when the host's keys are not under our TMK.
            key = ("terminal.result.sign_in_keys" if getattr(exc, "field", "") == "field 62"
                   else "terminal.result.sign_in_failed")
            return Outcome.told(Result.FAILED, text(key, why=str(exc)), rc=rc, stan=stan)
        if batch == 0:  # an 0810 carries no MAC: a damaged one must not move us to no batch
            return Outcome.told(Result.FAILED, text("terminal.result.sign_in_no_batch"), rc=rc,
                                stan=stan)
        self.keys.set_working(keys)
        self.journal.set_batch(batch)
        self.events.emit("params", event="applied", version=self.cfg.get("params_version"))
        return Outcome.told(Result.DONE, text("terminal.result.signed_in", batch=f"{batch:06d}"),
                            rc=rc, stan=stan, batch=batch)

    def ensure_signed_in(self) -> Outcome | None:
        """None when the terminal has working keys (signing in if need be); else why not."""
        if self.keys.working is not None:
            return None
        out = self.sign_in()
        return None if out.result == Result.DONE else out

    def drop_keys(self) -> None:
        self.keys.set_working(None)

    def resync_batch(self, then: Text) -> Text:
        """77: the host's open batch is not ours. Sign in again now (the 0810 names the batch)
        and say what the operator does next; nothing was charged."""
        out = self.sign_in()
        if out.result == Result.DONE:
            return text("terminal.result.resynced", batch=f"{out.batch or 0:06d}", then=then)
        return text("terminal.result.resync_failed", why=out.said or out.message, then=then)

    def sign(self, msg: Message) -> Message:
        assert self.keys.working is not None
        return mac.sign(msg, self.keys.working.mak, self.mac_alg)

    def mac_ok(self, resp: Message) -> bool:
        """Whether an answer's MAC verifies, for answers that carry one (§4)."""
        if not mac.needs_mac(resp):
            return True
        if self.keys.working is None or not mac.verify(resp, self.keys.working.mak,
                                                       self.mac_alg):
            return False
        self.keys.confirm()
        return True
