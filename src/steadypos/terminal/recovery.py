"""Recovery, which reads only the journal: at open, a table from the step a flow reached to what
settles it offline (as jPOS's `recover` does per participant); before anything goes online, the
pending reversals (pos-link-v1 §6 rules 8-9, and 1.1's code 12) and the resends of requests whose
answer was never journaled."""

from __future__ import annotations

from enum import StrEnum

from steadypos.eventlog import TxnKind, TxnPhase
from steadypos.protocol import mac
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import (
    APPROVED,
    NOT_PROCESSED,
    ORIGINAL_STANDS,
    SIGN_IN_AGAIN,
    UNMACED_CODES,
)
from steadypos.protocol.link import LinkError
from steadypos.terminal.journal import IN_PROGRESS, Journal, Kind, ReversalRecord, State, Txn
from steadypos.terminal.observer import Stage
from steadypos.terminal.online import SEALED
from steadypos.terminal.outcome import Charged, Outcome, Result
from steadypos.terminal.settlement import Settlement
from steadypos.terminal.steps import Step
from steadypos.terminal.texts import Text, text

MAX_REVERSAL_ATTEMPTS = 3


class Offline(StrEnum):
    """What recovery does, offline, with a flow the journal shows unfinished."""

    NOT_SENT = "not_sent"  # nothing left the terminal: the record goes, not charged
    REVERSAL_PENDING = "reversal_pending"  # a record is kept: it is sent before the next txn
    DECLINED = "declined"  # the host's decline was journaled: not charged
    REPRINT = "reprint"  # approved and journaled: only the receipt is missing
    FINISH = "finish"  # the receipt is out: approved
    INQUIRY = "inquiry"  # an unanswered balance inquiry: nothing to undo
    UNANSWERED = "unanswered"  # sent, no record to send: `recover` re-sends it


# The step a flow reached -> what settles it; a step not in the table was never sent.
OFFLINE_BY_STEP: dict[str, Offline] = {
    Step.REQUEST_SENT: Offline.UNANSWERED,
    Step.RESPONSE_RECEIVED: Offline.UNANSWERED,  # DECLINED when a decline was journaled
    Step.JOURNAL_WRITTEN: Offline.REPRINT,
    Step.REVERSAL_CLEARED: Offline.REPRINT,
    Step.RECEIPT_PRINTED: Offline.FINISH,
}


def offline_action(txn: Txn, has_record: bool) -> Offline:
    """The table's answer, refined: a kept reversal record wins once sent; a journaled decline
    and an inquiry are not left waiting for a resend."""
    action = OFFLINE_BY_STEP.get(txn.step, Offline.NOT_SENT)
    if action is not Offline.NOT_SENT and has_record:
        return Offline.REVERSAL_PENDING
    if action is Offline.UNANSWERED:
        if txn.step == Step.RESPONSE_RECEIVED and txn.rc and txn.rc != APPROVED:
            return Offline.DECLINED
        if txn.kind == Kind.BALANCE:
            return Offline.INQUIRY
    return action


class ReversalAnswer(StrEnum):
    """What an 0410 means for the pending reversal (rule 8, and 1.1's code 12)."""

    TAKEN = "taken"  # the host acted on it: the reversal is done
    STANDS = "stands"  # 12: the original is in a settled batch and stands
    RETRY = "retry"  # not an answer that ends it: the attempt counts, try again


class Recovery(Settlement):
    """A terminal that finishes or undoes what a crash or a lost answer left unfinished."""

    # -- at open, from the journal alone ------------------------------------------------------
    def recover_offline(self) -> None:
        """Settle what the journal alone can settle; leave the rest as pending reversals."""
        for txn in self.journal.txns(state=IN_PROGRESS):
            action = offline_action(txn, self.journal.reversal(txn.id) is not None)
            {Offline.NOT_SENT: self._not_sent, Offline.REVERSAL_PENDING: self._left_pending,
             Offline.DECLINED: self._was_declined, Offline.REPRINT: self._reprint,
             Offline.FINISH: self._finish, Offline.INQUIRY: self._inquiry,
             Offline.UNANSWERED: self._unanswered}[action](txn)

    def _not_sent(self, txn: Txn) -> None:
        what = text("terminal.recovery.not_sent")
        self.journal.step(txn, Step.FLOW_ABORTED, "recovery", state=State.FAILED,
                          message=str(what), also=[Journal.drop_reversal(txn)])
        self.tell(txn, what, Charged.NO)

    def _left_pending(self, txn: Txn) -> None:
        self.journal.update(txn, state=State.PENDING_REVERSAL,
                            message="interrupted: reversal pending")
        self.tell(txn, text("terminal.recovery.pending"), Charged.REVERSING)

    def _was_declined(self, txn: Txn) -> None:
        self.journal.update(txn, state=State.DECLINED)
        self.tell(txn, text("terminal.recovery.declined", rc=txn.rc), Charged.NO)

    def _reprint(self, txn: Txn) -> None:
        self.journal.update(txn, state=State.APPROVED)
        self.print_receipt(txn, reprint=True, recovering=True)

    def _finish(self, txn: Txn) -> None:
        self.journal.update(txn, state=State.APPROVED)

    def _inquiry(self, txn: Txn) -> None:
        what = text("terminal.recovery.inquiry")
        self.journal.update(txn, state=State.FAILED, message=str(what))
        self.tell(txn, what, Charged.NO)

    def _unanswered(self, txn: Txn) -> None:
        # A refund was sent and not settled: the host's answer to a resend decides.
        self.journal.update(txn, state=State.FAILED, message="no answer: recover re-sends it")
        self.tell(txn, text("terminal.recovery.no_answer"), Charged.UNKNOWN)

    # -- before going online ------------------------------------------------------------------
    def gate(self) -> Outcome | None:
        """Before any online transaction: pending reversals first, then keys. An override
        point (a deliberately broken terminal skips the reversals)."""
        blocked = self.recover()
        if blocked is not None:
            return blocked
        return self.ensure_signed_in()

    def recover(self, explicit: bool = False) -> Outcome | None:
        """Send pending reversals (and resend unanswered refunds) before anything else goes
        online. Returns an Outcome when the terminal must not go on (blocked)."""
        for rec in self.journal.reversals():
            if rec.attempts >= MAX_REVERSAL_ATTEMPTS and not explicit:
                return self._blocked(rec, text("terminal.blocked.attempts"))
            blocked = self.send_reversal(rec)
            if blocked is not None:
                return blocked
        for txn in self.journal.txns(state=State.FAILED):
            # Sent, and its answer never journaled as an outcome (no answer, or the terminal
            # died after `response_received`): the host's answer to the same request decides.
            if txn.step not in (Step.REQUEST_SENT, Step.RESPONSE_RECEIVED):
                continue
            if txn.kind == Kind.REFUND:
                self._resend_refund(txn)
            elif txn.kind == Kind.SETTLE:
                self.tell(txn, text("terminal.recovery.settle_resent",
                                    message=self.settle_txn(txn).said), None)
        if explicit:
            self._send_waiting_settlements()
        return None

    def _send_waiting_settlements(self) -> None:
        """Settlements that could not go out (`send_pending`) are sent when the operator asks
        `recover`, with the batch's totals as the journal has them now; one of a batch that has
        closed since has nothing left to settle."""
        for txn in self.journal.txns(state=State.FAILED):
            if txn.kind != Kind.SETTLE or txn.step != Step.SEND_PENDING:
                continue
            if txn.batch != self.batch:
                self.journal.step(txn, Step.FLOW_ABORTED, "batch closed since",
                                  message="not needed: its batch closed since")
                continue
            self.tell(txn, text("terminal.recovery.settle_sent",
                                message=self.settle_txn(txn).said), None)

    def recover_now(self) -> Outcome:
        """`recover` as the operator asks for it: whatever is pending goes now (a reversal past
        its 3 attempts too, and a settlement that waits); what came of it."""
        blocked = self.recover(explicit=True)
        if blocked is not None:
            return blocked
        return Outcome.told(Result.DONE, text("terminal.result.recovered" if self.recovered
                                              else "terminal.result.nothing_pending"))

    def _blocked(self, rec: ReversalRecord, why: Text) -> Outcome:
        txn = self.journal.txn(rec.txn_id)
        assert txn is not None
        return Outcome.told(Result.BLOCKED, text("terminal.result.blocked",
                                                 stan=f"{txn.stan:06d}", amount=txn.amount,
                                                 why=why),
                            stan=txn.stan, batch=txn.batch, reversal_pending=True)

    def send_reversal(self, rec: ReversalRecord) -> Outcome | None:
        """Send one pending reversal until an answer ends it (rule 8) or 3 attempts fail (rule
        9: it is kept, never dropped). An override point (a broken terminal drops it)."""
        txn = self.journal.txn(rec.txn_id)
        assert txn is not None
        attempts = 0 if rec.attempts >= MAX_REVERSAL_ATTEMPTS else rec.attempts
        while attempts < MAX_REVERSAL_ATTEMPTS:
            not_signed = self.ensure_signed_in()
            if not_signed is not None:
                return self._blocked(rec, text("terminal.blocked.no_sign_in",
                                               why=not_signed.said or not_signed.message))
            msg = self._reversal_message(rec, txn)
            self.progress(Stage.REVERSING, txn.kind, txn.stan,
                          text("terminal.progress.reversing", stan=f"{txn.stan:06d}"))
            try:
                self.link()
            except LinkError:
                return self._blocked(rec, text("terminal.blocked.unreachable"))
            attempts += 1
            self.journal.set_attempts(rec.txn_id, attempts)
            try:
                resp = self.exchange(msg, "reversal", txn.stan)
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
        return self._blocked(rec, text("terminal.blocked.no_answer"))

    def _reversal_message(self, rec: ReversalRecord, txn: Txn) -> Message:
        """The stored 0400, card number unsealed, signed under the current keys."""
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
        return self.sign(Message("0400", fields, self.station.tpdu))

    def _reversal_answer(self, resp: Message, txn: Txn) -> ReversalAnswer:
        """Rule 8 says any 0410 ends a reversal. We also want proof the host acted on it: an
        answer to this STAN, with a good MAC, whose code does not say the host never processed
        the request (03, 30, 96, 97, 99, A0). Otherwise the attempt counts and we try again,
        because ending there could leave the customer charged (a chaos run found exactly that:
        a corrupted 0400 answered 03)."""
        rc = resp.get(39)
        if resp.mti != "0410" or resp.get(11) != f"{txn.stan:06d}" or rc in NOT_PROCESSED:
            if rc in SIGN_IN_AGAIN:
                self.drop_keys()
            return ReversalAnswer.RETRY
        assert self.keys.working is not None
        if rc not in UNMACED_CODES and not mac.verify(resp, self.keys.working.mak, self.mac_alg):
            self.events.txn(TxnKind.REVERSAL, txn.stan, TxnPhase.MAC_FAIL)
            self.drop_keys()
            return ReversalAnswer.RETRY
        if rc not in UNMACED_CODES:
            self.keys.confirm()
        return ReversalAnswer.STANDS if rc == ORIGINAL_STANDS else ReversalAnswer.TAKEN

    def _original_of(self, txn: Txn) -> Txn | None:
        return self.journal.find(txn.orig_stan or 0, txn.orig_batch, Kind.SALE)

    def _original_stands(self, txn: Txn, resp: Message) -> None:
        """12: the original is in a batch the host has settled, whose totals never change, so
        the host did not undo it and never will. The record goes (resending cannot help) and the
        journal says what is true: the original stands, as the host has it."""
        also = [Journal.drop_reversal(txn)]
        if txn.kind == Kind.VOID:
            orig = self._original_of(txn)
            if orig is not None:
                also.append(Journal.mark_voided(orig))
            note = text("terminal.recovery.void_stands", batch=f"{txn.batch:06d}")
        else:
            note = text("terminal.recovery.original_stands", batch=f"{txn.batch:06d}",
                        kind=txn.kind, stan=f"{txn.stan:06d}")
        self.journal.step(txn, Step.REVERSAL_REFUSED, str(note), state=State.APPROVED,
                          message=str(note), rc=ORIGINAL_STANDS, rrn=resp.get(37) or txn.rrn,
                          also=also)
        self.tell(txn, note, Charged.YES)
        if txn.batch == self.batch:
            self.sign_in()  # the host settled the batch this terminal still trades in

    def _reversed(self, txn: Txn, reason: str) -> None:
        also = [Journal.drop_reversal(txn)]
        if txn.kind == Kind.VOID and txn.orig_stan is not None:
            orig = self._original_of(txn)
            if orig is not None and orig.state == State.VOIDED:
                also.append(Journal.mark_unvoided(orig))
        what = text("terminal.recovery.reversed")
        self.journal.step(txn, Step.REVERSED, f"reason {reason}", state=State.REVERSED,
                          message=str(what), also=also)
        self.tell(txn, what, Charged.NO)

    def _resend_refund(self, txn: Txn) -> None:
        orig = self._original_of(txn)
        if orig is None or self.ensure_signed_in() is not None:
            return
        try:
            resp = self.exchange(self.refund_request(txn, orig), Kind.REFUND, txn.stan)
        except LinkError:
            return
        if resp.get(39) in NOT_PROCESSED:
            # The host did not look at this copy (bad keys, wrong parameters): the first copy
            # may still have been refunded, so the outcome stays unknown until a real answer.
            if resp.get(39) in SIGN_IN_AGAIN:
                self.drop_keys()
            return
        out = self.settle_answer(txn, resp, reversible=False, orig=orig)
        self.tell(txn, text("terminal.recovery.resent", result=out.result,
                            message=out.said or out.message),
                  Charged.YES if out.result == Result.APPROVED else Charged.NO)
