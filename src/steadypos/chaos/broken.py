"""Deliberately broken terminals, each breaking one reversal rule of pos-link-v1 §6, so that the
chaos checker and the conformance mode can show they catch what they claim to catch."""

from __future__ import annotations

from collections.abc import Callable

from steadypos.protocol.codec import Message
from steadypos.terminal.engine import Terminal
from steadypos.terminal.journal import Journal, ReversalRecord, Txn
from steadypos.terminal.outcome import Outcome

# Test only: `STEADYPOS_TEST_BROKEN=<name>` makes `steadypos terminal` run that broken terminal.
BROKEN_ENV = "STEADYPOS_TEST_BROKEN"


class StoreAfterSend(Terminal):
    """Breaks rule 2: sends the request first and stores the reversal record afterwards, so a
    crash in between leaves a charge that nothing will reverse."""

    _deferred: tuple[Txn, Message] | None = None

    def _store_reversal(self, txn: Txn, req: Message) -> None:
        self._deferred = (txn, req)

    def _exchange(self, msg: Message, kind: str, stan: int,
                  on_sent: Callable[[], None] | None = None) -> Message:
        deferred, self._deferred = self._deferred, None
        if deferred is None:
            return super()._exchange(msg, kind, stan, on_sent)
        conn = self._link()
        if on_sent is not None:
            on_sent()
        conn.send(msg)
        Terminal._store_reversal(self, *deferred)  # too late: the request is already out
        return conn.receive()


class DropAfterThree(Terminal):
    """Breaks rule 9: after 3 failed attempts it drops the reversal and trades on."""

    def _send_reversal(self, rec: ReversalRecord) -> Outcome | None:
        blocked = super()._send_reversal(rec)
        current = self.journal.reversal(rec.txn_id)
        if blocked is not None and current is not None and current.attempts >= 3:
            txn = self.journal.txn(rec.txn_id)
            assert txn is not None
            self.journal.step(txn, "reversal_dropped", state="failed",
                              message="reversal dropped after 3 attempts",
                              extra=[Journal.delete_reversal_sql(txn.id)])
            return None
        return blocked


class SaleBeforeReversal(Terminal):
    """Breaks rule 8: sends the new request first and its pending reversal only afterwards."""

    def _gate(self) -> Outcome | None:
        return self._ensure_signed_in()

    def sale(self, *args: object, **kwargs: object) -> Outcome:
        waiting = self.journal.reversals()
        out = super().sale(*args, **kwargs)  # type: ignore[arg-type]
        for rec in waiting:  # the reversals that should have gone first go now
            self._send_reversal(rec)
        return out


BROKEN: dict[str, type[Terminal]] = {
    "store_after_send": StoreAfterSend,
    "drop_after_three": DropAfterThree,
    "sale_before_reversal": SaleBeforeReversal,
}
