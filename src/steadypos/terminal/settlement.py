"""End of day: the batch's totals from the journal, the settlement (0500) and, when the host's
totals differ, the batch upload (0320); the batch closes in the write that ends the flow."""

from __future__ import annotations

from steadypos.eventlog import TxnPhase
from steadypos.protocol import builders
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import APPROVED, BATCH_MISMATCH, SIGN_IN_AGAIN, describe
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import (
    SETTLE_BALANCED,
    BatchRecord,
    Totals,
    format_batch_records,
)
from steadypos.protocol.link import LinkError
from steadypos.terminal.journal import Journal, Kind, State, Txn
from steadypos.terminal.observer import Stage
from steadypos.terminal.online import OnlinePayment
from steadypos.terminal.outcome import Outcome, Result
from steadypos.terminal.steps import Step
from steadypos.terminal.texts import reason, text

RECORDS_PER_UPLOAD = 8
SENT_STEPS = (Step.REQUEST_SENT, Step.RESPONSE_RECEIVED)  # it went out; its answer decides
UNPARSEABLE_RESULT = "3"  # an 0510 whose totals cannot be read counts as not balanced


class Settlement(OnlinePayment):
    """A terminal that can settle its batch with the host."""

    def totals(self, batch: int) -> tuple[Totals, list[BatchRecord]]:
        """The batch's totals as the journal has them, and its records for an upload."""
        txns = self.journal.txns(batch=batch)
        debits = [t for t in txns
                  if t.kind == Kind.SALE and t.state in (State.APPROVED, State.REFUNDED)]
        credits = [t for t in txns if t.kind == Kind.REFUND and t.state == State.APPROVED]
        totals = Totals(sum(t.amount for t in debits), len(debits),
                        sum(t.amount for t in credits), len(credits))
        records = [BatchRecord(t.stan, self.keys.unseal(t.pan_sealed), t.amount)
                   for t in debits + credits]
        return totals, records

    def settle_txn(self, txn: Txn) -> Outcome:
        """Send the settlement (again after a crash: same STAN, same totals), upload the batch
        when the host disagrees, and close the batch in the write that ends the flow: a batch
        the host has closed is never traded in again by a terminal that lost the answer."""
        batch = txn.batch
        not_signed = self.ensure_signed_in()  # a resend may follow a dropped key set
        if not_signed is not None:
            return self._settle_not_sent(txn, not_signed.message)
        totals, records = self.totals(batch)

        def sent() -> None:
            self.journal.step(txn, Step.REQUEST_SENT)
            self.after(Step.REQUEST_SENT)

        try:
            resp = self.exchange(self.sign(builders.settle(self.station, txn.stan, batch,
                                                           totals)),
                                 Kind.SETTLE, txn.stan, on_sent=sent)
        except LinkError as exc:
            if not exc.sent:
                return self._settle_not_sent(txn, str(exc))
            self.journal.update(txn, state=State.FAILED, message="no answer: recover re-sends it")
            return Outcome.told(Result.FAILED, text("terminal.result.settle_no_answer",
                                                    why=str(exc)), stan=txn.stan, batch=batch)
        refused = self._refused(txn, resp)
        if refused is not None:
            return refused
        return self._settled(txn, resp, totals, records)

    def _settle_not_sent(self, txn: Txn, why: str) -> Outcome:
        """This copy did not go out. A settlement never sent is journaled as waiting to be sent
        (`send_pending`): `recover` and the next `settle` send it. One sent before keeps its step:
        its outcome is unknown, and the host's answer to it decides before anything else."""
        note = text("terminal.result.settle_not_sent", why=why, batch=f"{txn.batch:06d}")
        if txn.step in SENT_STEPS:
            self.journal.update(txn, state=State.FAILED, message="no answer: recover re-sends it")
        else:
            self.journal.step(txn, Step.SEND_PENDING, why, state=State.FAILED,
                              message=str(note))
        return Outcome.told(Result.FAILED, note, stan=txn.stan, batch=txn.batch)

    def waiting_settlement(self) -> Txn | None:
        """The settlement of the open batch that could not go out, if one waits."""
        return next((t for t in self.journal.txns(state=State.FAILED, batch=self.batch)
                     if t.kind == Kind.SETTLE and t.step == Step.SEND_PENDING), None)

    def _refused(self, txn: Txn, resp: Message) -> Outcome | None:
        """The 0510 when it does not let the batch close: a bad MAC, or not approved."""
        rc = resp.get(39)
        if not self.mac_ok(resp):
            # The answer cannot be trusted, and the host may have closed the batch: the same
            # settlement again (same STAN) gets the host's stored answer.
            self.events.txn(Kind.SETTLE, txn.stan, TxnPhase.MAC_FAIL)
            self.drop_keys()
            self.journal.update(txn, state=State.FAILED,
                                message="answer MAC failed: recover re-sends it")
            return Outcome.told(Result.FAILED, text("terminal.result.settle_mac_failed"), rc=rc,
                                stan=txn.stan, batch=txn.batch)
        if rc == APPROVED:
            return None
        if rc in SIGN_IN_AGAIN:
            self.drop_keys()
        self.journal.step(txn, Step.RESPONSE_RECEIVED, f"rc {rc}", rc=rc, state=State.DECLINED,
                          message=describe(rc))
        told = [text("terminal.result.settle_refused", rc=rc, rc_text=reason(rc))]
        if rc == BATCH_MISMATCH:
            told.append(self.resync_batch(text("terminal.then.settle")))
        return Outcome.told(Result.DECLINED, *told, rc=rc, stan=txn.stan, batch=txn.batch)

    def _settled(self, txn: Txn, resp: Message, totals: Totals,
                 records: list[BatchRecord]) -> Outcome:
        """Approved: upload the batch if the totals differ, then close it."""
        batch, rc = txn.batch, resp.get(39)
        try:
            _, result = Totals.parse(resp.get(48))
        except ProtocolError:
            result = UNPARSEABLE_RESULT
        self.journal.step(txn, Step.RESPONSE_RECEIVED, f"result {result}", rc=rc)
        self.after(Step.RESPONSE_RECEIVED)
        balanced = result == SETTLE_BALANCED
        if not balanced:
            try:
                self._upload(batch, records)
            except LinkError as exc:
                self.journal.update(txn, state=State.FAILED, message="batch upload interrupted")
                return Outcome.told(Result.FAILED, text("terminal.result.upload_interrupted",
                                                        why=str(exc)),
                                    stan=txn.stan, batch=batch)
        summary = text("terminal.result.settled", batch=f"{batch:06d}",
                       debit_count=totals.debit_count, debit_total=totals.debit_total,
                       credit_count=totals.credit_count, credit_total=totals.credit_total,
                       balance=text("terminal.result.balanced") if balanced
                       else text("terminal.result.not_balanced", records=len(records)))
        self.journal.step(txn, Step.JOURNAL_WRITTEN, str(summary), state=State.APPROVED,
                          message=str(summary), also=[Journal.close_batch(batch)])
        self.after(Step.JOURNAL_WRITTEN)
        return Outcome.told(Result.DONE, summary, rc=rc, stan=txn.stan, batch=batch,
                            extra={"balanced": balanced,
                                   "uploaded": 0 if balanced else len(records)})

    def _upload(self, batch: int, records: list[BatchRecord]) -> None:
        """Batch upload: the records 8 to a message, then the end message with the count."""
        self.progress(Stage.UPLOADING, Kind.SETTLE, None, text("terminal.progress.uploading"))
        for i in range(0, len(records), RECORDS_PER_UPLOAD):
            stan = self.journal.next_stan()
            chunk = format_batch_records(records[i:i + RECORDS_PER_UPLOAD])
            self._upload_one(builders.batch_upload(self.station, stan, batch, chunk, end=False),
                             stan)
        stan = self.journal.next_stan()
        self._upload_one(builders.batch_upload(self.station, stan, batch, f"{len(records):04d}",
                                               end=True), stan)

    def _upload_one(self, msg: Message, stan: int) -> None:
        """One 0320, MAC'd; an answer that is not a good 00 stops the upload like a lost one."""
        resp = self.exchange(self.sign(msg), Kind.SETTLE, stan)
        if not self.mac_ok(resp):
            self.events.txn(Kind.SETTLE, stan, TxnPhase.MAC_FAIL)
            self.drop_keys()
            raise LinkError("batch upload answer failed its MAC check", sent=True)
        if resp.get(39) != APPROVED:
            if resp.get(39) in SIGN_IN_AGAIN:
                self.drop_keys()
            raise LinkError(f"batch upload refused: {resp.get(39)}", sent=True)
