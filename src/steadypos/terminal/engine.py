"""The terminal engine: every payment flow as journaled steps, the reversal rules of pos-link-v1 §6,
and recovery that reads only the journal."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import (
    APPROVED,
    BATCH_MISMATCH,
    NOT_PROCESSED,
    ORIGINAL_STANDS,
    SIGN_IN_AGAIN,
    UNMACED_CODES,
    describe,
)
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import (
    SETTLE_BALANCED,
    BatchRecord,
    Field60,
    Totals,
    format_batch_records,
    parse_balance,
)
from steadypos.protocol.frame import Tpdu
from steadypos.protocol.link import Connection, Link, LinkError, LinkTimeout
from steadypos.protocol.mac import DEFAULT_MAC, MacAlgorithm
from steadypos.terminal import steps, transport
from steadypos.terminal.devices import (
    CardReader,
    DeviceError,
    Faults,
    PinPad,
    Printer,
    Receipt,
    UsageError,
)
from steadypos.terminal.events import EventLog, events_path
from steadypos.terminal.journal import IN_PROGRESS, Journal, JournalError, ReversalRecord, Txn
from steadypos.terminal.keystore import KeyStore
from steadypos.terminal.outcome import Outcome

MAX_REVERSAL_ATTEMPTS = 3
REVERSIBLE = frozenset({"sale", "void"})
PRINTED = frozenset({"sale", "void", "refund"})  # flows that end with a receipt
SEALED = "sealed:"
INVALID_MERCHANT = "03"  # the host knows no such TID/MID pair

# Benchmark only: `STEADYPOS_JOURNAL_SYNC=OFF` opens the journal without fsync, to measure what
# durability costs (benchmarks/terminal_sale.py). A terminal that takes money never sets it.
JOURNAL_SYNC_ENV = "STEADYPOS_JOURNAL_SYNC"
JOURNAL_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

# What recovery tells the operator about a flow it found unfinished (§ "interrupted flows").
NOT_SENT = "interrupted before sending: not charged"
REVERSED = "reversed: not charged"
CHARGED = "approved: charged"
NOT_CHARGED_INQUIRY = "interrupted balance inquiry: nothing is ever charged for it"
# A journal made before pos-link-v1.1 names no MAC algorithm: its terminal spoke pos_ecb, and
# the host registered it as legacy when it upgraded.
PRE_1_1_MAC = MacAlgorithm.POS_ECB


class ReversalAnswer(StrEnum):
    """What an 0410 means for the pending reversal (rule 8, and 1.1's code 12)."""

    TAKEN = "taken"  # the host acted on it: the reversal is done
    STANDS = "stands"  # 12: the original is in a settled batch and stands
    RETRY = "retry"  # not an answer that ends it: the attempt counts, try again


class TerminalError(Exception):
    """The terminal cannot run the command (not initialised, bad state file, ...)."""


@dataclass
class CardInput:
    """What the operator gave for the card: exactly one of track 2, chip card file or QR code."""

    track2: str | None = None
    card_file: Path | None = None
    qr: str | None = None


@dataclass
class Terminal:
    journal: Journal
    keys: KeyStore
    events: EventLog
    faults: Faults = field(default_factory=Faults)
    say: Callable[[str], None] = print
    _conn: Link | None = None
    recovered: list[str] = field(default_factory=list)
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
            raise TerminalError(f"{journal_path} already exists")
        Tpdu.parse_hex(tpdu)
        journal = Journal(journal_path)
        journal.set_config({"host": host, "port": str(port), "tid": tid, "mid": mid,
                            "tpdu": tpdu.upper(), "timeout": str(timeout),
                            "params_version": "1", "mac": MacAlgorithm(mac_alg).value,
                            **(tls or {})})
        journal.close()
        KeyStore.create(_keys_path(journal_path), tmk)

    @classmethod
    def open(cls, journal_path: Path, say: Callable[[str], None] = print,
             faults: Faults | None = None, synchronous: str | None = None,
             link_factory: Callable[..., Link] | None = None,
             on_step: Callable[[str], None] | None = None) -> Terminal:
        """`link_factory`: how to reach the host; by default what the config says (TCP or TLS)."""
        if not journal_path.exists() or not _keys_path(journal_path).exists():
            raise TerminalError(f"no terminal at {journal_path}: run `steadypos terminal init`")
        sync = (synchronous or os.environ.get(JOURNAL_SYNC_ENV, "FULL")).strip().upper()
        journal = Journal(journal_path, synchronous=sync if sync in JOURNAL_SYNC_MODES else "FULL")
        cfg = journal.config()
        events = EventLog(events_path(journal_path), cfg.get("tid", "?"))
        term = cls(journal, KeyStore.load(_keys_path(journal_path)), events,
                   faults or Faults(), say, link_factory=link_factory or transport.connector(cfg),
                   on_step=on_step)
        events.app_start(steps.broke_at((t.kind, t.step)
                                        for t in journal.txns(state=IN_PROGRESS)))
        events.inventory(cfg.get("mid"), cfg.get("params_version"))
        events.screen("idle")
        term.recover_offline()
        return term

    def _after(self, step: str) -> None:
        steps.after_step(step)
        if self.on_step is not None:
            self.on_step(step)

    def close(self, reason: str = "normal", exc: BaseException | None = None) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.events.app_exit(reason, exc)
        self.events.close()
        self.journal.close()

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
        return self.journal.counter("batch", 1)

    @property
    def mac_alg(self) -> MacAlgorithm:
        """The MAC algorithm the host registered this terminal with (§4)."""
        return MacAlgorithm(self.cfg.get("mac", PRE_1_1_MAC))

    def _next_stan(self) -> int:
        stan = self.journal.counter("stan", 0) % 999_999 + 1
        self.journal.set_counter("stan", stan)
        return stan

    # -- the link ---------------------------------------------------------------------------
    def _link(self) -> Link:
        if self._conn is None:
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

    def _drop_link(self, event: str = "reset") -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self.events.net(event)

    def _exchange(self, msg: Message, kind: str, stan: int,
                  on_sent: Callable[[], None] | None = None) -> Message:
        """Send and wait for the answer. LinkError(sent=False) means nothing left the terminal."""
        conn = self._link()
        if on_sent is not None:
            on_sent()  # journaled as sent before the first byte goes out
        started = time.monotonic()
        self.events.txn(kind, stan, "sent", amount=int(msg.get(4, "0") or 0))
        try:
            conn.send(msg)
            resp = conn.receive()
        except LinkTimeout:
            self.events.txn(kind, stan, "timeout", started)
            self._drop_link("down")
            raise
        except (LinkError, ProtocolError) as exc:
            self.events.txn(kind, stan, "conn_fail", started)
            self._drop_link("reset")
            raise LinkError(str(exc), sent=True) from exc
        rc = resp.get(39)
        self.events.txn(kind, stan, "response", started, rc=rc)
        if rc == INVALID_MERCHANT:  # the terminal's parameters are not the bank's
            self.events.emit("params", event="mismatch", field="mid",
                             version=self.cfg.get("params_version"))
        return resp

    # -- keys -------------------------------------------------------------------------------
    def sign_in(self) -> Outcome:
        stan = self._next_stan()
        req = builders.sign_in(self.station, stan, self.batch)
        try:
            resp = self._exchange(req, "sign_in", stan)
        except LinkError as exc:
            return Outcome("failed", f"sign-in failed: {exc}", stan=stan)
        rc = resp.get(39)
        if rc != APPROVED:
            return Outcome("declined", f"sign-in refused: {rc} {describe(rc)}", rc=rc, stan=stan)
        try:
            keys = unpack_key_block(self.keys.tmk, bytes.fromhex(resp.get(62)))
            batch = Field60.parse(resp.get(60)).batch
        except (ProtocolError, ValueError) as exc:
            self.events.emit("params", event="mismatch", field="keys",
                             version=self.cfg.get("params_version"))
            return Outcome("failed", f"sign-in failed: {exc}", rc=rc, stan=stan)
        self.keys.set_working(keys)
        self.journal.set_counter("batch", batch)
        self.events.emit("params", event="applied", version=self.cfg.get("params_version"))
        return Outcome("done", f"signed in, batch {batch:06d}", rc=rc, stan=stan, batch=batch)

    def _ensure_signed_in(self) -> Outcome | None:
        if self.keys.working is not None:
            return None
        out = self.sign_in()
        return None if out.result == "done" else out

    def _drop_keys(self) -> None:
        self.keys.set_working(None)

    def _resync_batch(self, then: str) -> str:
        """77: the host's open batch is not ours. Sign in again now (the 0810 names the batch)
        and say what the operator does next; nothing was charged."""
        out = self.sign_in()
        if out.result == "done":
            return f"; signed in again, now in batch {out.batch:06d}: not charged, {then}"
        return f"; signing in again failed ({out.message}): not charged, {then} once it works"

    # -- recovery ---------------------------------------------------------------------------
    def _tell(self, txn: Txn, what: str) -> None:
        line = f"unfinished {txn.kind} STAN {txn.stan:06d} ({txn.pan_masked or '-'}, " \
               f"{txn.amount} fen): {what}"
        self.recovered.append(line)
        self.say(line)
        self.events.emit("recovery", stan=f"{txn.stan:06d}", kind=txn.kind, outcome=what)

    def recover_offline(self) -> None:
        """Settle what the journal alone can settle; leave the rest as pending reversals."""
        for txn in self.journal.txns(state=IN_PROGRESS):
            idx = steps.STEPS.index(txn.step) if txn.step in steps.STEPS else 0
            if idx < steps.STEPS.index("request_sent"):
                self.journal.step(txn, "flow_aborted", "recovery", state="failed",
                                  message=NOT_SENT,
                                  extra=[Journal.delete_reversal_sql(txn.id)])
                self._tell(txn, NOT_SENT)
            elif self.journal.reversal(txn.id) is not None:
                self.journal.update(txn, state="pending_reversal",
                                    message="interrupted: reversal pending")
                self._tell(txn, "interrupted: reversal pending, it is sent before the next "
                                "transaction")
            elif txn.step in ("journal_written", "reversal_cleared"):
                # Approved and journaled, no record left to send: only the receipt is missing.
                self.journal.update(txn, state="approved")
                self._print(txn, reprint=True, recovering=True)
            elif txn.step == "receipt_printed":
                self.journal.update(txn, state="approved")
            elif txn.step == "response_received" and txn.rc and txn.rc != APPROVED:
                self.journal.update(txn, state="declined")
                self._tell(txn, f"declined ({txn.rc}): not charged")
            elif txn.kind == "balance":
                self.journal.update(txn, state="failed", message=NOT_CHARGED_INQUIRY)
                self._tell(txn, NOT_CHARGED_INQUIRY)
            else:
                # A refund was sent and not settled: the host's answer to a resend decides.
                self.journal.update(txn, state="failed", message="no answer: recover re-sends it")
                self._tell(txn, "no answer yet: recover re-sends it to learn its outcome")

    def recover(self, explicit: bool = False) -> Outcome | None:
        """Send pending reversals (and resend unanswered refunds) before anything else goes
        online. Returns an Outcome when the terminal must not go on (blocked)."""
        for rec in self.journal.reversals():
            if rec.attempts >= MAX_REVERSAL_ATTEMPTS and not explicit:
                return self._blocked(rec, "its 3 attempts failed; run `recover` when the link "
                                          "is back")
            blocked = self._send_reversal(rec)
            if blocked is not None:
                return blocked
        for txn in self.journal.txns(state="failed"):
            # Sent, and its answer never journaled as an outcome (no answer, or the terminal
            # died after `response_received`): the host's answer to the same request decides.
            if txn.step not in ("request_sent", "response_received"):
                continue
            if txn.kind == "refund":
                self._resend_refund(txn)
            elif txn.kind == "settle":
                self._tell(txn, f"settlement re-sent: {self._settle(txn).message}")
        return None

    def _blocked(self, rec: ReversalRecord, why: str) -> Outcome:
        txn = self.journal.txn(rec.txn_id)
        assert txn is not None
        return Outcome("blocked", f"reversal of STAN {txn.stan:06d} ({txn.amount} fen) is "
                                  f"pending and {why}; no new sale until it goes through",
                       stan=txn.stan, batch=txn.batch, reversal_pending=True)

    def _send_reversal(self, rec: ReversalRecord) -> Outcome | None:
        txn = self.journal.txn(rec.txn_id)
        assert txn is not None
        attempts = 0 if rec.attempts >= MAX_REVERSAL_ATTEMPTS else rec.attempts
        while attempts < MAX_REVERSAL_ATTEMPTS:
            not_signed = self._ensure_signed_in()
            if not_signed is not None:
                return self._blocked(rec, f"cannot sign in ({not_signed.message})")
            fields = dict(rec.fields)
            fields[2] = self.keys.unseal(fields[2][len(SEALED):])
            # The reason is the record's, which the response may have changed (rules 5, 7);
            # an approval's auth code goes with it (§3: +38 when a response was received).
            fields[39] = rec.reason
            if txn.auth_code:
                fields[38] = txn.auth_code
            # Sent under the terminal's identity as it is now: if its TID or MID was wrong when
            # the original went out, the host never took that original, and a reversal under
            # the stale identity would be refused (03) for ever instead of ending as a tombstone.
            fields[41], fields[42] = self.station.tid, self.station.mid
            msg = self._sign(Message("0400", fields, self.station.tpdu))
            try:
                self._link()
            except LinkError:
                return self._blocked(rec, "the host cannot be reached")
            attempts += 1
            self.journal.set_attempts(rec.txn_id, attempts)
            try:
                resp = self._exchange(msg, "reversal", txn.stan)
            except LinkError:
                continue
            answer = self._reversal_answer(resp, txn)
            if answer is ReversalAnswer.RETRY:
                continue
            if answer is ReversalAnswer.STANDS:
                self._original_stands(txn, resp)
            else:
                self._reversed(txn, rec.reason)
            return None
        return self._blocked(rec, "3 attempts got no answer")

    def _reversal_answer(self, resp: Message, txn: Txn) -> ReversalAnswer:
        """Rule 8 says any 0410 ends a reversal. We also want proof the host acted on it: an
        answer to this STAN, with a good MAC, whose code does not say the host never processed
        the request (03, 30, 96, 97, 99, A0). Otherwise the attempt counts and we try again,
        because ending there could leave the customer charged (a chaos run found exactly that:
        a corrupted 0400 answered 03)."""
        rc = resp.get(39)
        if resp.mti != "0410" or resp.get(11) != f"{txn.stan:06d}" or rc in NOT_PROCESSED:
            if rc in SIGN_IN_AGAIN:
                self._drop_keys()
            return ReversalAnswer.RETRY
        assert self.keys.working is not None
        if rc not in UNMACED_CODES and not mac.verify(resp, self.keys.working.mak, self.mac_alg):
            self.events.txn("reversal", txn.stan, "mac_fail")
            self._drop_keys()
            return ReversalAnswer.RETRY
        return ReversalAnswer.STANDS if rc == ORIGINAL_STANDS else ReversalAnswer.TAKEN

    def _original_stands(self, txn: Txn, resp: Message) -> None:
        """12: the original is in a batch the host has settled, whose totals never change, so
        the host did not undo it and never will. The record goes (resending cannot help) and the
        journal says what is true: the original stands, as the host has it."""
        extra = [Journal.delete_reversal_sql(txn.id)]
        if txn.kind == "void":
            orig = self.journal.find(txn.orig_stan or 0, txn.orig_batch, "sale")
            if orig is not None:
                extra.append(("UPDATE txns SET state = 'voided' WHERE id = ?", (orig.id,)))
            note = (f"reversal refused (12): batch {txn.batch:06d} is settled, so the void "
                    "stands: the sale is voided and the money is back on the card")
        else:
            note = (f"reversal refused (12): batch {txn.batch:06d} is settled, so the "
                    f"{txn.kind} stands and the card is charged: refund it "
                    f"(STAN {txn.stan:06d}) to give the money back")
        self.journal.step(txn, "reversal_refused", note, state="approved", message=note,
                          rc=ORIGINAL_STANDS, rrn=resp.get(37) or txn.rrn, extra=extra)
        self._tell(txn, note)
        if txn.batch == self.batch:
            self.sign_in()  # the host settled the batch this terminal still trades in

    def _reversed(self, txn: Txn, reason: str) -> None:
        extra = [Journal.delete_reversal_sql(txn.id)]
        if txn.kind == "void" and txn.orig_stan is not None:
            orig = self.journal.find(txn.orig_stan, txn.orig_batch, "sale")
            if orig is not None and orig.state == "voided":
                extra.append(("UPDATE txns SET state = 'approved' WHERE id = ?", (orig.id,)))
        self.journal.step(txn, "reversed", f"reason {reason}", state="reversed",
                          message=REVERSED, extra=extra)
        self._tell(txn, REVERSED)

    def _resend_refund(self, txn: Txn) -> None:
        orig = self.journal.find(txn.orig_stan or 0, txn.orig_batch, "sale")
        if orig is None or self._ensure_signed_in() is not None:
            return
        req = self._refund_request(txn, orig)
        try:
            resp = self._exchange(self._sign(req), "refund", txn.stan)
        except LinkError:
            return
        if resp.get(39) in NOT_PROCESSED:
            # The host did not look at this copy (bad keys, wrong parameters): the first copy
            # may still have been refunded, so the outcome stays unknown until a real answer.
            if resp.get(39) in SIGN_IN_AGAIN:
                self._drop_keys()
            return
        out = self._settle_response(txn, resp, reversible=False, orig=orig)
        self._tell(txn, f"re-sent, now {out.result}: {out.message}")

    # -- devices ------------------------------------------------------------------------------
    def _print(self, txn: Txn, reprint: bool = False, recovering: bool = False) -> str | None:
        cfg = self.cfg
        receipt = Receipt(cfg["tid"], cfg["mid"], txn.kind, txn.pan_masked, txn.amount, txn.stan,
                          txn.batch, txn.rrn, txn.auth_code, reprint)
        printer = Printer(self.faults, self.journal.path.with_name(
            self.journal.path.name + ".receipts"))
        self.events.screen("receipt")
        try:
            printer.print(receipt)
        except DeviceError as exc:
            self.events.emit("health", printer=exc.code)
            note = f"{CHARGED}; printer {exc.code.replace('_', ' ')}: reprint the receipt"
            self.journal.update(txn, state="approved", message=note)
            if recovering:
                self._tell(txn, note)
                self.events.screen("idle")
            return note
        self.journal.step(txn, "receipt_printed", "reprint" if reprint else "", state="approved")
        self._after("receipt_printed")
        if recovering:
            self._tell(txn, f"{CHARGED} (receipt reprinted)")
            self.events.screen("result")
            self.events.screen("idle")
        return None

    # -- the payment flows --------------------------------------------------------------------
    def _precheck(self, card: CardInput | None, pin: str | None) -> None:
        """Reject bad input before anything is written."""
        if card is not None:
            given = [x for x in (card.track2, card.card_file, card.qr) if x is not None]
            if len(given) != 1:
                raise UsageError("give exactly one of --track2, --card-file, --qr")
            reader = CardReader(Faults({}))
            if card.track2 is not None:
                reader.swipe(card.track2)
            elif card.qr is not None:
                reader.scan(card.qr)
                if pin is not None:
                    raise UsageError("a QR payment takes no PIN")
            elif card.card_file is not None:
                from steadypos.terminal.devices import ChipCard
                ChipCard.load(card.card_file)
        PinPad(Faults({})).enter(pin)

    def _read_card(self, card: CardInput, amount: int) -> Card:
        reader = CardReader(self.faults)
        if card.track2 is not None:
            method = "swipe"
            read = lambda: reader.swipe(card.track2)  # type: ignore[arg-type]  # noqa: E731
        elif card.qr is not None:
            method = "qr"
            read = lambda: reader.scan(card.qr)  # type: ignore[arg-type]  # noqa: E731
        else:
            method = "chip"
            read = lambda: reader.insert(card.card_file, amount)  # type: ignore[arg-type]  # noqa: E731
        try:
            got = read()
        except DeviceError as exc:
            self.events.emit("card", method=method, ok=False, error=exc.code)
            raise
        self.events.emit("card", method=method, ok=True, error=None)
        return got

    def _gate(self) -> Outcome | None:
        """Before any online transaction: pending reversals first, then keys."""
        blocked = self.recover()
        if blocked is not None:
            return blocked
        return self._ensure_signed_in()

    def sale(self, amount: int, card: CardInput, pin: str | None = None) -> Outcome:
        self._precheck(card, pin)
        # The amount is keyed before the terminal goes online: a sale the gate stops (refused
        # sign-in, a reversal it cannot send) is a flow that vanished without a result.
        self.events.screen("amount")
        with self.events.inside("amount"):
            gate = self._gate()
        if gate is not None:
            self.events.screen("idle")
            return gate
        txn = self.journal.start("sale", amount, self.batch)
        self._after("flow_started")
        self.events.screen("card")
        try:
            got = self._read_card(card, amount)
        except DeviceError as exc:
            return self._abort(txn, f"card read failed ({exc.code}): not charged")
        from steadypos.masking import mask_pan
        self.journal.step(txn, "card_read", method=got.method, pan_masked=mask_pan(got.pan),
                          pan_sealed=self.keys.seal(got.pan), expiry=got.expiry)
        self._after("card_read")
        entered = None
        if pin is not None:
            self.events.screen("pin")
            try:
                entered = PinPad(self.faults).enter(pin)
            except DeviceError as exc:
                self.events.emit("pin", outcome=exc.code)
                return self._abort(txn, f"PIN entry {exc.code}: not charged", operator=True)
            self.events.emit("pin", outcome="entered")
            self.journal.step(txn, "pin_captured", "PIN entered (flag only)")
            self._after("pin_captured")
        req = builders.sale(self.station, txn.stan, txn.batch, amount, got, entered,
                            self.keys.working.pik if self.keys.working else None)
        return self._online(txn, self._sign(req))

    def void(self, stan: int) -> Outcome:
        gate = self._gate()
        if gate is not None:
            return gate
        orig = self.journal.find(stan, self.batch, "sale")
        if orig is None or orig.state != "approved":
            return Outcome("declined", f"no approved sale with STAN {stan:06d} in this batch",
                           stan=stan, batch=self.batch)
        self.events.screen("amount")
        txn = self.journal.start("void", orig.amount, self.batch, orig.stan, orig.batch)
        self._after("flow_started")
        card = self._card_of(orig)
        self.journal.step(txn, "card_read", method=orig.method, pan_masked=orig.pan_masked,
                          pan_sealed=orig.pan_sealed, expiry=orig.expiry)
        self._after("card_read")
        req = builders.void(self.station, txn.stan, txn.batch, orig.amount, card, orig.stan,
                            orig.batch, orig.rrn, orig.auth_code)
        return self._online(txn, self._sign(req), orig=orig)

    def refund(self, stan: int, amount: int) -> Outcome:
        gate = self._gate()
        if gate is not None:
            return gate
        orig = self.journal.find(stan, None, "sale")
        if orig is None or orig.state not in ("approved", "refunded"):
            return Outcome("declined", f"no approved sale with STAN {stan:06d}", stan=stan)
        if orig.refunded + amount > orig.amount:
            return Outcome("declined", f"refunds would exceed the sale ({orig.amount} fen, "
                                       f"{orig.refunded} already refunded)", stan=stan)
        self.events.screen("amount")
        txn = self.journal.start("refund", amount, self.batch, orig.stan, orig.batch)
        self._after("flow_started")
        self.journal.step(txn, "card_read", method=orig.method, pan_masked=orig.pan_masked,
                          pan_sealed=orig.pan_sealed, expiry=orig.expiry)
        self._after("card_read")
        return self._online(txn, self._sign(self._refund_request(txn, orig)), orig=orig)

    def balance(self, track2: str, pin: str) -> Outcome:
        self._precheck(CardInput(track2=track2), pin)
        gate = self._gate()
        if gate is not None:
            return gate
        txn = self.journal.start("balance", 0, self.batch)
        self._after("flow_started")
        self.events.screen("card")
        try:
            got = self._read_card(CardInput(track2=track2), 0)
        except DeviceError as exc:
            return self._abort(txn, f"card read failed ({exc.code})")
        from steadypos.masking import mask_pan
        self.journal.step(txn, "card_read", method=got.method, pan_masked=mask_pan(got.pan))
        self.events.screen("pin")
        self.events.emit("pin", outcome="entered")
        assert self.keys.working is not None
        req = builders.balance(self.station, txn.stan, txn.batch, got, pin, self.keys.working.pik)
        return self._online(txn, self._sign(req))

    def _card_of(self, txn: Txn) -> Card:
        pan = self.keys.unseal(txn.pan_sealed)
        if txn.method in ("qr", "03"):
            return Card.qr(pan)
        return Card(pan=pan, expiry=txn.expiry, method="01")

    def _refund_request(self, txn: Txn, orig: Txn) -> Message:
        return builders.refund(self.station, txn.stan, txn.batch, txn.amount, self._card_of(orig),
                               orig.stan, orig.batch, orig.rrn, orig.host_date)

    def _sign(self, msg: Message) -> Message:
        assert self.keys.working is not None
        return mac.sign(msg, self.keys.working.mak, self.mac_alg)

    def _mac_ok(self, resp: Message) -> bool:
        """Whether an answer's MAC verifies, for answers that carry one (§4)."""
        if not mac.needs_mac(resp):
            return True
        return self.keys.working is not None and mac.verify(resp, self.keys.working.mak,
                                                            self.mac_alg)

    def _abort(self, txn: Txn, why: str, operator: bool = False) -> Outcome:
        self.journal.step(txn, "flow_aborted", why, state="failed", message=why)
        self.events.screen("idle")
        return Outcome("failed", why, stan=txn.stan, batch=txn.batch)

    def _online(self, txn: Txn, req: Message, orig: Txn | None = None) -> Outcome:
        reversible = txn.kind in REVERSIBLE
        self.journal.step(txn, "request_packed")
        self._after("request_packed")
        if reversible:
            self._store_reversal(txn, req)
        self.events.screen("online")

        def sent() -> None:
            self.journal.step(txn, "request_sent")
            self._after("request_sent")

        try:
            resp = self._exchange(req, txn.kind, txn.stan, on_sent=sent)
        except LinkError as exc:
            if not exc.sent:
                # Rule 3: nothing left the terminal, so there is nothing to reverse.
                self.journal.step(txn, "flow_aborted", str(exc), state="failed",
                                  message="could not connect: not charged",
                                  extra=[Journal.delete_reversal_sql(txn.id)])
                self.events.screen("idle")
                return Outcome("failed", f"could not reach the host ({exc}): not charged",
                               stan=txn.stan, batch=txn.batch)
            return self._no_answer(txn, reversible, str(exc))
        return self._settle_response(txn, resp, reversible, orig)

    def _store_reversal(self, txn: Txn, req: Message) -> None:
        """Rule 2: the reversal record (reason 98) is on disk before the request goes out."""
        rev = builders.reversal(req, "98")
        rev.fields[2] = SEALED + self.keys.seal(rev.fields[2])
        self.journal.step(txn, "reversal_stored", "reason 98",
                          extra=[Journal.store_reversal_sql(txn.id, rev.fields, "98")])
        self._after("reversal_stored")

    def _no_answer(self, txn: Txn, reversible: bool, why: str) -> Outcome:
        """Rule 4: keep the record (98); the reversal goes before the next online message."""
        self.events.screen("idle")
        if reversible:
            self.journal.update(txn, state="pending_reversal",
                                message=f"no answer ({why}): reversal pending")
            return Outcome("failed", f"no answer from the host ({why}); the payment will be "
                                     "reversed before the next transaction: do not charge again",
                           stan=txn.stan, batch=txn.batch, reversal_pending=True)
        self.journal.update(txn, state="failed", message="no answer: recover re-sends it")
        return Outcome("failed", f"no answer from the host ({why}); run recover to learn the "
                                 "outcome", stan=txn.stan, batch=txn.batch)

    def _valid_answer(self, txn: Txn, resp: Message, req_mti: str) -> bool:
        expect = req_mti[:2] + str(int(req_mti[2]) + 1) + req_mti[3]
        return (resp.mti == expect and resp.get(11) == f"{txn.stan:06d}"
                and resp.get(41) == self.cfg["tid"])

    def _declined(self, txn: Txn, rc: str) -> Outcome:
        """Rule 6: declined, nothing to reverse. On 77 the terminal learns the open batch."""
        self.journal.step(txn, "reversal_cleared", "declined", state="declined",
                          message=describe(rc), extra=[Journal.delete_reversal_sql(txn.id)])
        self.events.screen("result")
        self.events.screen("idle")
        message = f"declined: {rc} {describe(rc)}"
        if rc == BATCH_MISMATCH:
            message += self._resync_batch("retry the payment")
        return Outcome("declined", message, rc=rc, stan=txn.stan, batch=txn.batch)

    def _settle_response(self, txn: Txn, resp: Message, reversible: bool,
                         orig: Txn | None = None) -> Outcome:
        rc = resp.get(39)
        req_mti = {"refund": "0220"}.get(txn.kind, "0200")
        if not self._valid_answer(txn, resp, req_mti):
            # Not the answer to this request (garbled on the way, or another's): nothing on
            # this link can be trusted, so it goes, and the log says the link failed.
            self.events.txn(txn.kind, txn.stan, "conn_fail", detail="answer does not match")
            self._drop_link("reset")
            return self._no_answer(txn, reversible, "answer does not match the request")
        maced = rc not in UNMACED_CODES
        assert self.keys.working is not None
        if maced and not mac.verify(resp, self.keys.working.mak, self.mac_alg):
            # Rule 5: reason A0, keep the record, drop the keys.
            self.events.txn(txn.kind, txn.stan, "mac_fail")
            extra = [Journal.reversal_reason_sql(txn.id, "A0")] if reversible else []
            self.journal.step(txn, "response_received", "MAC failed", rc=rc,
                              state="pending_reversal" if reversible else "failed",
                              message="response MAC failed", extra=extra)
            self._drop_keys()
            self.events.screen("idle")
            return Outcome("failed", "the host's answer failed its MAC check; the payment will "
                                     "be reversed and the terminal signs in again",
                           rc=rc, stan=txn.stan, batch=txn.batch, reversal_pending=reversible)
        approved = rc == APPROVED
        extra = [Journal.reversal_reason_sql(txn.id, "96")] if (reversible and approved) else []
        self.journal.step(txn, "response_received", f"rc {rc}", rc=rc, rrn=resp.get(37),
                          auth_code=resp.get(38), host_date=resp.get(13), extra=extra)
        self._after("response_received")
        if rc in SIGN_IN_AGAIN:
            self._drop_keys()
        if not approved:
            return self._declined(txn, rc)
        extra_out: dict[str, object] = {}
        journal_extra: list[tuple[str, tuple[Any, ...]]] = []
        final_state = "approved"
        if txn.kind == "void" and orig is not None:
            journal_extra.append(("UPDATE txns SET state = 'voided' WHERE id = ?", (orig.id,)))
        if txn.kind == "refund" and orig is not None:
            full = orig.refunded + txn.amount >= orig.amount
            journal_extra.append(("UPDATE txns SET refunded = refunded + ?, state = ? WHERE id = ?",
                                  (txn.amount, "refunded" if full else orig.state, orig.id)))
        if txn.kind == "balance":
            try:
                extra_out["balance"] = parse_balance(resp.get(54))
            except ProtocolError:
                extra_out["balance"] = None
        # Rule 7: the journal entry first, then the record goes. A flow with a receipt stays
        # in progress until the receipt is out (or failed): recovery finishes what a crash cut.
        printed = txn.kind in PRINTED
        self.journal.step(txn, "journal_written", state=IN_PROGRESS if printed else final_state,
                          extra=journal_extra)
        self._after("journal_written")
        if reversible:
            self.journal.step(txn, "reversal_cleared", extra=[Journal.delete_reversal_sql(txn.id)])
            self._after("reversal_cleared")
        message = "approved"
        if printed:
            note = self._print(txn)
            if note:
                self.events.screen("idle")
                return Outcome("approved", note, rc=rc, stan=txn.stan, batch=txn.batch,
                               rrn=txn.rrn, auth_code=txn.auth_code, extra=extra_out)
        self.events.screen("result")
        self.events.screen("idle")
        return Outcome("approved", message, rc=rc, stan=txn.stan, batch=txn.batch, rrn=txn.rrn,
                       auth_code=txn.auth_code, extra=extra_out)

    # -- end of day ---------------------------------------------------------------------------
    def totals(self, batch: int) -> tuple[Totals, list[BatchRecord]]:
        debits = [t for t in self.journal.txns(batch=batch)
                  if t.kind == "sale" and t.state in ("approved", "refunded")]
        credits = [t for t in self.journal.txns(batch=batch)
                   if t.kind == "refund" and t.state == "approved"]
        totals = Totals(sum(t.amount for t in debits), len(debits),
                        sum(t.amount for t in credits), len(credits))
        records = [BatchRecord(t.stan, self.keys.unseal(t.pan_sealed), t.amount)
                   for t in debits + credits]
        return totals, records

    def settle(self) -> Outcome:
        gate = self._gate()
        if gate is not None:
            return gate
        totals, _ = self.totals(self.batch)
        txn = self.journal.start("settle", totals.debit_total, self.batch)
        self._after("flow_started")
        return self._settle(txn)

    def _settle(self, txn: Txn) -> Outcome:
        """Send the settlement (again after a crash: same STAN, same totals), upload the batch
        when the host disagrees, and close the batch in the write that ends the flow: a batch
        the host has closed is never traded in again by a terminal that lost the answer."""
        batch = txn.batch
        totals, records = self.totals(batch)
        not_signed = self._ensure_signed_in()  # a resend may follow a dropped key set
        if not_signed is not None:
            self.journal.update(txn, state="failed", message="not signed in: recover re-sends it")
            return Outcome("failed", f"settlement not sent ({not_signed.message}); recover "
                                     "re-sends it", stan=txn.stan, batch=batch)

        def sent() -> None:
            self.journal.step(txn, "request_sent")
            self._after("request_sent")

        try:
            resp = self._exchange(self._sign(builders.settle(self.station, txn.stan, batch,
                                                             totals)),
                                  "settle", txn.stan, on_sent=sent)
        except LinkError as exc:
            self.journal.update(txn, state="failed", message="no answer: recover re-sends it")
            return Outcome("failed", f"settlement got no answer ({exc}); recover re-sends it",
                           stan=txn.stan, batch=batch)
        rc = resp.get(39)
        if not self._mac_ok(resp):
            # The answer cannot be trusted, and the host may have closed the batch: the same
            # settlement again (same STAN) gets the host's stored answer.
            self.events.txn("settle", txn.stan, "mac_fail")
            self._drop_keys()
            self.journal.update(txn, state="failed", message="answer MAC failed: recover "
                                                             "re-sends it")
            return Outcome("failed", "the settlement answer failed its MAC check; recover "
                                     "re-sends it", rc=rc, stan=txn.stan, batch=batch)
        if rc != APPROVED:
            if rc in SIGN_IN_AGAIN:
                self._drop_keys()
            self.journal.step(txn, "response_received", f"rc {rc}", rc=rc, state="declined",
                              message=describe(rc))
            message = f"settlement refused: {rc} {describe(rc)}"
            if rc == BATCH_MISMATCH:
                message += self._resync_batch("settle again")
            return Outcome("declined", message, rc=rc, stan=txn.stan, batch=batch)
        try:
            _, result = Totals.parse(resp.get(48))
        except ProtocolError:
            result = "3"
        self.journal.step(txn, "response_received", f"result {result}", rc=rc)
        self._after("response_received")
        balanced = result == SETTLE_BALANCED
        if not balanced:
            try:
                self._upload(batch, records)
            except LinkError as exc:
                self.journal.update(txn, state="failed", message="batch upload interrupted")
                return Outcome("failed", f"batch upload interrupted ({exc}); recover "
                                         "re-sends the settlement", stan=txn.stan, batch=batch)
        summary = (f"batch {batch:06d} settled: {totals.debit_count} sales "
                   f"{totals.debit_total} fen, {totals.credit_count} refunds "
                   f"{totals.credit_total} fen, "
                   + ("balanced" if balanced else f"not balanced, {len(records)} records "
                                                   "uploaded"))
        self.journal.step(txn, "journal_written", summary, state="approved", message=summary,
                          extra=[("INSERT OR REPLACE INTO counters (name, value) "
                                  "VALUES ('batch', ?)", (batch + 1,))])
        self._after("journal_written")
        return Outcome("done", summary, rc=rc, stan=txn.stan, batch=batch,
                       extra={"balanced": balanced, "uploaded": 0 if balanced else len(records)})

    def _upload(self, batch: int, records: list[BatchRecord]) -> None:
        """Batch upload: the records 8 to a message, then the end message with the count."""
        for i in range(0, len(records), 8):
            stan = self._next_stan()
            self._upload_one(builders.batch_upload(self.station, stan, batch,
                                                   format_batch_records(records[i:i + 8]),
                                                   end=False), stan)
        stan = self._next_stan()
        self._upload_one(builders.batch_upload(self.station, stan, batch, f"{len(records):04d}",
                                               end=True), stan)

    def _upload_one(self, msg: Message, stan: int) -> None:
        """One 0320, MAC'd; an answer that is not a good 00 stops the upload like a lost one."""
        resp = self._exchange(self._sign(msg), "settle", stan)
        if not self._mac_ok(resp):
            self.events.txn("settle", stan, "mac_fail")
            self._drop_keys()
            raise LinkError("batch upload answer failed its MAC check", sent=True)
        if resp.get(39) != APPROVED:
            if resp.get(39) in SIGN_IN_AGAIN:
                self._drop_keys()
            raise LinkError(f"batch upload refused: {resp.get(39)}", sent=True)


def _keys_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".keys")


__all__ = ["CardInput", "JournalError", "Terminal", "TerminalError", "UsageError"]
