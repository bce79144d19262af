"""Deliberately broken terminals, each breaking one reversal rule of pos-link-v1 §6, so that the
chaos checker and the conformance mode can show they catch what they claim to catch. Each one
overrides one of the terminal's override points (`store_reversal`, `exchange`, `send_reversal`,
`gate`); `steadypos terminal --behave NAME` runs one (README, "Broken terminals")."""

from __future__ import annotations

from collections.abc import Callable

from steadypos.protocol.codec import Message
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.journal import Journal, ReversalRecord, State, Txn
from steadypos.terminal.outcome import Outcome
from steadypos.terminal.recovery import MAX_REVERSAL_ATTEMPTS
from steadypos.terminal.steps import Step


class StoreAfterSend(Terminal):
    """Breaks rule 2: sends the request first and stores the reversal record afterwards, so a
    crash in between leaves a charge that nothing will reverse."""

    _deferred: tuple[Txn, Message] | None = None

    def store_reversal(self, txn: Txn, req: Message) -> None:
        self._deferred = (txn, req)

    def exchange(self, msg: Message, kind: str, stan: int,
                 on_sent: Callable[[], None] | None = None) -> Message:
        deferred, self._deferred = self._deferred, None
        if deferred is None:
            return super().exchange(msg, kind, stan, on_sent)
        conn = self.link(kind, stan)
        if on_sent is not None:
            on_sent()
        conn.send(msg)
        Terminal.store_reversal(self, *deferred)  # too late: the request is already out
        return conn.receive()


class DropAfterThree(Terminal):
    """Breaks rule 9: after 3 failed attempts it drops the reversal and trades on."""

    def send_reversal(self, rec: ReversalRecord) -> Outcome | None:
        blocked = super().send_reversal(rec)
        current = self.journal.reversal(rec.txn_id)
        if blocked is not None and current is not None \
                and current.attempts >= MAX_REVERSAL_ATTEMPTS:
            txn = self.journal.txn(rec.txn_id)
            assert txn is not None
            self.journal.step(txn, Step.REVERSAL_DROPPED, state=State.FAILED,
                              message="reversal dropped after 3 attempts",
                              also=[Journal.drop_reversal(txn)])
            return None
        return blocked


class SaleBeforeReversal(Terminal):
    """Breaks rule 8: sends the new request first and its pending reversal only afterwards."""

    def gate(self) -> Outcome | None:
        return self.ensure_signed_in()

    def sale(self, amount: int, card: CardInput, pin: str | None = None) -> Outcome:
        waiting = self.journal.reversals()
        out = super().sale(amount, card, pin)
        for rec in waiting:  # the reversals that should have gone first go now
            self.send_reversal(rec)
        return out


BROKEN: dict[str, type[Terminal]] = {
    "store_after_send": StoreAfterSend,
    "drop_after_three": DropAfterThree,
    "sale_before_reversal": SaleBeforeReversal,
}
