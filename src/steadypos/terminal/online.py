"""The online half of a payment, shared by every flow: the request goes out after its reversal
record (pos-link-v1 §6 rules 2-7), the answer is checked (this request's? MAC?), journaled, and
the flow ends with its receipt; a lost answer leaves a pending reversal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from steadypos.eventlog import TxnPhase
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import (
    APPROVED,
    BATCH_MISMATCH,
    SIGN_IN_AGAIN,
    UNMACED_CODES,
    ResponseCode,
    ReversalReason,
    describe,
)
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import parse_balance
from steadypos.protocol.link import LinkError
from steadypos.protocol.mti import Mti
from steadypos.terminal.devices import DeviceError, Printer, Receipt
from steadypos.terminal.journal import (
    IN_PROGRESS,
    PRINTED,
    REVERSIBLE,
    Change,
    Journal,
    Kind,
    State,
    Txn,
)
from steadypos.terminal.lifecycle import TerminalLifecycle
from steadypos.terminal.observer import ReceiptShown, ResultShown, Screen
from steadypos.terminal.outcome import Charged, Outcome, Result
from steadypos.terminal.steps import Step
from steadypos.terminal.texts import Text, reason, text

SEALED = "sealed:"  # the card number in a stored reversal record is sealed under the key store
PAYMENTS = frozenset({Kind.SALE, Kind.VOID, Kind.REFUND, Kind.BALANCE})
REQUEST_MTI = {Kind.REFUND: Mti.FINANCIAL_ADVICE}  # the others are 0200 (§3)


@dataclass
class Answer:
    """A response to a flow's request, as journaled: its code, and whether it was approved."""

    resp: Message
    rc: str

    @property
    def approved(self) -> bool:
        return self.rc == APPROVED


class OnlinePayment(TerminalLifecycle):
    """A terminal that can take one journaled request online and settle its answer."""

    def online(self, txn: Txn, build: Callable[[], Message], orig: Txn | None = None) -> Outcome:
        """Send `txn`'s request, packed and signed by `build` under the working keys, and
        settle the answer (rules 2-7)."""
        req = build()
        reversible = txn.kind in REVERSIBLE
        self.journal.step(txn, Step.REQUEST_PACKED)
        self.after(Step.REQUEST_PACKED)
        if reversible:
            self.store_reversal(txn, req)
        self.show(Screen.ONLINE)

        def sent() -> None:
            self.journal.step(txn, Step.REQUEST_SENT)
            self.after(Step.REQUEST_SENT)

        try:
            resp = self.exchange(req, txn.kind, txn.stan, on_sent=sent)
        except LinkError as exc:
            if not exc.sent:
                # Rule 3: nothing left the terminal, so there is nothing to reverse.
                self.journal.step(txn, Step.FLOW_ABORTED, str(exc), state=State.FAILED,
                                  message="could not connect: not charged",
                                  also=[Journal.drop_reversal(txn)])
                self.show(Screen.IDLE)
                return Outcome.told(Result.FAILED, text("terminal.result.not_reached",
                                                        why=str(exc)),
                                    stan=txn.stan, batch=txn.batch)
            return self.no_answer(txn, reversible, str(exc))
        if self._refused_new_keys(txn, resp) and self._keys_again():
            # §4: the host never confirmed the new set (strangers' sign-ins can push it out of
            # its newest 3). An A0 moved nothing and the host kept no record of it, so the same
            # request (same STAN, its PIN block under the key it now goes with) goes once more,
            # under the set still in force or a fresh one; its reversal record still holds.
            try:
                resp = self.exchange(build(), txn.kind, txn.stan, on_sent=sent)
            except LinkError as exc:
                return self.no_answer(txn, reversible, str(exc))
        return self.settle_answer(txn, resp, reversible, orig)

    def _refused_new_keys(self, txn: Txn, resp: Message) -> bool:
        """The host answered A0 to a request under a set it never confirmed."""
        return (self.keys.unconfirmed and self._is_answer_to(txn, resp)
                and resp.get(39) == ResponseCode.MAC_ERROR)

    def _keys_again(self) -> bool:
        """Keys the host surely holds: the set in force if there is one, else a new sign-in."""
        if self.keys.fallback is not None:
            self.keys.fall_back()
            return True
        return self.sign_in().result == Result.DONE

    def store_reversal(self, txn: Txn, req: Message) -> None:
        """Rule 2: the reversal record (reason 98) is on disk before the request goes out.
        An override point (a deliberately broken terminal stores it too late)."""
        rev = builders.reversal(req, ReversalReason.NO_RESPONSE)
        rev.fields[2] = SEALED + self.keys.seal(rev.fields[2])
        self.journal.step(txn, Step.REVERSAL_STORED, "reason 98",
                          also=[Journal.keep_reversal(txn, rev.fields,
                                                          ReversalReason.NO_RESPONSE)])
        self.after(Step.REVERSAL_STORED)

    def no_answer(self, txn: Txn, reversible: bool, why: str) -> Outcome:
        """Rule 4: keep the record (98); the reversal goes before the next online message."""
        self.show(Screen.IDLE)
        if reversible:
            self.journal.update(txn, state=State.PENDING_REVERSAL,
                                message=f"no answer ({why}): reversal pending")
            return Outcome.told(Result.FAILED, text("terminal.result.no_answer_reversal",
                                                    why=why),
                                stan=txn.stan, batch=txn.batch, reversal_pending=True)
        self.journal.update(txn, state=State.FAILED, message="no answer: recover re-sends it")
        return Outcome.told(Result.FAILED, text("terminal.result.no_answer_resend", why=why),
                            stan=txn.stan, batch=txn.batch, unknown=True)

    def _is_answer_to(self, txn: Txn, resp: Message) -> bool:
        expect = REQUEST_MTI.get(Kind(txn.kind), Mti.FINANCIAL).response
        return (resp.mti == expect and resp.get(11) == f"{txn.stan:06d}"
                and resp.get(41) == self.cfg["tid"])

    def settle_answer(self, txn: Txn, resp: Message, reversible: bool,
                      orig: Txn | None = None) -> Outcome:
        """What the host's answer to `txn`'s request means, journaled (rules 5-7)."""
        if not self._is_answer_to(txn, resp):
            # Not the answer to this request (garbled on the way, or another's): nothing on
            # this link can be trusted, so it goes, and the log says the link failed.
            self.events.txn(txn.kind, txn.stan, TxnPhase.CONN_FAIL, detail="answer does not match")
            self.drop_link("reset")
            return self.no_answer(txn, reversible, "answer does not match the request")
        answer = Answer(resp, resp.get(39))
        assert self.keys.working is not None
        if answer.rc not in UNMACED_CODES and not mac.verify(resp, self.keys.working.mak,
                                                             self.mac_alg):
            return self._mac_failed(txn, answer, reversible)
        if answer.rc not in UNMACED_CODES:
            self.keys.confirm()
        also = ([Journal.set_reversal_reason(txn, ReversalReason.TERMINAL_FAILED)]
                if reversible and answer.approved else [])
        self.journal.step(txn, Step.RESPONSE_RECEIVED, f"rc {answer.rc}", rc=answer.rc,
                          rrn=resp.get(37), auth_code=resp.get(38), host_date=resp.get(13),
                          also=also)
        self.after(Step.RESPONSE_RECEIVED)
        if answer.rc in SIGN_IN_AGAIN:
            self.drop_keys()
        if not answer.approved:
            return self._declined(txn, answer.rc)
        return self._approved(txn, answer, reversible, orig)

    def _mac_failed(self, txn: Txn, answer: Answer, reversible: bool) -> Outcome:
        """Rule 5: reason A0, keep the record, drop the keys."""
        self.events.txn(txn.kind, txn.stan, TxnPhase.MAC_FAIL)
        also = [Journal.set_reversal_reason(txn, ReversalReason.MAC_FAILED)] if reversible else []
        self.journal.step(txn, Step.RESPONSE_RECEIVED, "MAC failed", rc=answer.rc,
                          state=State.PENDING_REVERSAL if reversible else State.FAILED,
                          message="response MAC failed", also=also)
        self.drop_keys()
        self.show(Screen.IDLE)
        return Outcome.told(Result.FAILED, text("terminal.result.mac_failed"), rc=answer.rc,
                            stan=txn.stan, batch=txn.batch, reversal_pending=reversible)

    def _declined(self, txn: Txn, rc: str) -> Outcome:
        """Rule 6: declined, nothing to reverse. On 77 the terminal learns the open batch."""
        self.journal.step(txn, Step.REVERSAL_CLEARED, "declined", state=State.DECLINED,
                          message=describe(rc), also=[Journal.drop_reversal(txn)])
        self.show(Screen.RESULT)
        self.show(Screen.IDLE)
        told = [text("terminal.result.declined", rc=rc, rc_text=reason(rc))]
        if rc == BATCH_MISMATCH:
            told.append(self.resync_batch(text("terminal.then.retry")))
        return Outcome.told(Result.DECLINED, *told, rc=rc, stan=txn.stan, batch=txn.batch)

    def _approved(self, txn: Txn, answer: Answer, reversible: bool,
                  orig: Txn | None) -> Outcome:
        """Rule 7: the journal entry first, then the record goes. A flow with a receipt stays
        in progress until the receipt is out (or failed): recovery finishes what a crash cut."""
        also: list[Change] = []
        if txn.kind == Kind.VOID and orig is not None:
            also.append(Journal.mark_voided(orig))
        if txn.kind == Kind.REFUND and orig is not None:
            also.append(Journal.add_refund(orig, txn.amount))
        extra: dict[str, object] = {}
        if txn.kind == Kind.BALANCE:
            try:
                extra["balance"] = parse_balance(answer.resp.get(54))
            except ProtocolError:
                extra["balance"] = None
        printed = txn.kind in PRINTED
        self.journal.step(txn, Step.JOURNAL_WRITTEN,
                          state=IN_PROGRESS if printed else State.APPROVED, also=also)
        self.after(Step.JOURNAL_WRITTEN)
        if reversible:
            self.journal.step(txn, Step.REVERSAL_CLEARED, also=[Journal.drop_reversal(txn)])
            self.after(Step.REVERSAL_CLEARED)
        note = self.print_receipt(txn) if printed else None
        if note is None:
            self.show(Screen.RESULT)
        self.show(Screen.IDLE)
        return Outcome.told(Result.APPROVED, note or text("terminal.result.approved"),
                            rc=answer.rc, stan=txn.stan, batch=txn.batch, rrn=txn.rrn,
                            auth_code=txn.auth_code, extra=extra)

    def abort(self, txn: Txn, why: Text) -> Outcome:
        """The flow stops before anything went online: not charged."""
        self.journal.step(txn, Step.FLOW_ABORTED, str(why), state=State.FAILED, message=str(why))
        self.show(Screen.IDLE)
        return Outcome.told(Result.FAILED, why, stan=txn.stan, batch=txn.batch)

    def report(self, kind: str, amount: int, out: Outcome) -> Outcome:
        """Tell the observer how an operator's command ended."""
        charged = out.charged if kind in PAYMENTS else None
        self.observer.notify(ResultShown(kind, out.result, charged, amount, out.rc,
                                         describe(out.rc) if out.rc else "", out.stan,
                                         out.message, out.said))
        return out

    # -- the receipt --------------------------------------------------------------------------
    def print_receipt(self, txn: Txn, reprint: bool = False,
                      recovering: bool = False) -> Text | None:
        """Print `txn`'s receipt and end the flow approved; the operator's note when the
        printer failed (the payment stands: it is to be reprinted)."""
        cfg = self.cfg
        receipt = Receipt(cfg["tid"], cfg["mid"], txn.kind, txn.pan_masked, txn.amount, txn.stan,
                          txn.batch, txn.rrn, txn.auth_code, reprint,
                          training=cfg.get("training") == "1")
        printer = Printer(self.faults, self.journal.path.with_name(
            self.journal.path.name + ".receipts"))
        self.show(Screen.RECEIPT)
        try:
            printer.print(receipt)
        except DeviceError as exc:
            self.events.emit("health", printer=exc.code)
            self.observer.notify(ReceiptShown(receipt.text(), reprint, exc.code))
            note = text("terminal.result.printer", fault=Text(f"counter.fault.{exc.code}"))
            self.journal.update(txn, state=State.APPROVED, message=str(note))
            if recovering:
                self.tell(txn, note, Charged.YES)
                self.show(Screen.IDLE)
            return note
        self.observer.notify(ReceiptShown(receipt.text(), reprint))
        self.journal.step(txn, Step.RECEIPT_PRINTED, "reprint" if reprint else "",
                          state=State.APPROVED)
        self.after(Step.RECEIPT_PRINTED)
        if recovering:
            self.tell(txn, text("terminal.recovery.reprinted"), Charged.YES)
            self.show(Screen.RESULT)
            self.show(Screen.IDLE)
        return None

    # -- requests from the journal ------------------------------------------------------------
    def card_of(self, txn: Txn) -> Card:
        """The card of a journaled transaction, for a void or refund of it (no track data)."""
        pan = self.keys.unseal(txn.pan_sealed)
        if txn.method in ("qr", "03"):
            return Card.qr(pan)
        return Card(pan=pan, expiry=txn.expiry, method="01")

    def refund_request(self, txn: Txn, orig: Txn) -> Message:
        return self.sign(builders.refund(self.station, txn.stan, txn.batch, txn.amount,
                                         self.card_of(orig), orig.stan, orig.batch, orig.rrn,
                                         orig.host_date))
