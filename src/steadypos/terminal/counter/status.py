"""`steadypos terminal status`: signed in or not, a pending reversal, what is waiting for
`recover`, the open batch and its totals, and the last contact with the host."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steadypos.eventlog import TxnPhase
from steadypos.protocol.fields import Totals
from steadypos.terminal.events import events_path, newest_first, read_tail
from steadypos.terminal.journal import Txn

# Recovery re-sends these when they were sent and their answer never came (engine.recover).
RESENT_KINDS = ("refund", "settle")
UNANSWERED_STEPS = ("request_sent", "response_received")
# The event log's phases that are a contact with the host, newest wins.
CONTACT_PHASES = (TxnPhase.RESPONSE, TxnPhase.TIMEOUT, TxnPhase.CONN_FAIL)
TAIL_BYTES = 256 * 1024


@dataclass(frozen=True)
class Pending:
    """A flow whose money is not settled yet: a reversal to send, or an answer to learn."""

    kind: str
    stan: int
    amount: int
    attempts: int = 0


@dataclass
class Status:
    tid: str
    mid: str
    signed_in: bool
    batch: int
    totals: Totals
    reversals: list[Pending] = field(default_factory=list)
    unknown: list[Pending] = field(default_factory=list)
    last_contact: dict[str, Any] | None = None
    training: bool = False
    settle_waiting: bool = False  # a settlement of the open batch could not go out

    def to_json(self) -> dict[str, Any]:
        return {"tid": self.tid, "mid": self.mid, "signed_in": self.signed_in,
                "batch": f"{self.batch:06d}", "debit_count": self.totals.debit_count,
                "debit_total": self.totals.debit_total,
                "credit_count": self.totals.credit_count,
                "credit_total": self.totals.credit_total,
                "reversal_pending": [p.__dict__ | {"stan": f"{p.stan:06d}"}
                                     for p in self.reversals],
                "outcome_unknown": [p.__dict__ | {"stan": f"{p.stan:06d}"}
                                    for p in self.unknown],
                "last_contact": self.last_contact, "training": self.training,
                "settlement_waiting": self.settle_waiting}


def unknown_outcome(txns: list[Txn]) -> list[Pending]:
    """Sent, unanswered, not reversible: what `recover` re-sends to learn the outcome."""
    return [Pending(t.kind, t.stan, t.amount) for t in txns
            if t.kind in RESENT_KINDS and t.step in UNANSWERED_STEPS]


def last_contact(journal: Path) -> dict[str, Any] | None:
    """The newest exchange with the host in the event log: when, and how it ended."""
    tail, _ = read_tail(events_path(journal), TAIL_BYTES)
    for ev in newest_first(tail.splitlines()):
        if ev.get("type") == "txn" and ev.get("phase") in CONTACT_PHASES:
            return {"at": ev.get("ts"), "what": ev["phase"], "rc": ev.get("rc") or "",
                    "kind": ev.get("kind")}
        if ev.get("type") == "net" and ev.get("event") == "connect_fail":
            return {"at": ev.get("ts"), "what": "connect_fail", "rc": "", "kind": None}
    return None


def lines(status: Status, lang: str) -> list[str]:
    """The status in words, the money first: what is pending, then keys, batch, contact."""
    from steadypos.terminal.counter.words import kind, say

    out = [say("status.title", lang, tid=status.tid, mid=status.mid)]
    if status.training:
        out.append(say("status.training", lang))
    for p in status.reversals:
        out.append(say("status.reversal", lang, kind=kind(p.kind, lang), stan=f"{p.stan:06d}",
                       amount=p.amount, attempts=p.attempts))
    for p in status.unknown:
        out.append(say("status.unknown", lang, kind=kind(p.kind, lang), stan=f"{p.stan:06d}",
                       amount=p.amount))
    if status.settle_waiting:
        out.append(say("status.settle_waiting", lang, batch=f"{status.batch:06d}"))
    if not status.reversals:
        out.append(say("status.no_reversal", lang))
    out.append(say("status.signed_in", lang, batch=f"{status.batch:06d}") if status.signed_in
               else say("status.not_signed_in", lang))
    t = status.totals
    out.append(say("status.batch", lang, batch=f"{status.batch:06d}",
                   debit_count=t.debit_count, debit_total=t.debit_total,
                   credit_count=t.credit_count, credit_total=t.credit_total))
    contact = status.last_contact
    if contact is None:
        out.append(say("status.never", lang))
    else:
        what = say(f"status.contact.{contact['what']}", lang, rc=contact["rc"])
        out.append(say("status.last_contact", lang, at=contact["at"], what=what))
    return out


def read(term: Any) -> Status:
    """The status of an open terminal (engine.Terminal), from its journal, keys and event log."""
    journal = term.journal
    reversals = []
    for rec in journal.reversals():
        txn = journal.txn(rec.txn_id)
        if txn is not None:
            reversals.append(Pending(txn.kind, txn.stan, txn.amount, rec.attempts))
    cfg = term.cfg
    totals, _ = term.totals(term.batch)
    return Status(cfg.get("tid", "?"), cfg.get("mid", "?"), term.keys.working is not None,
                  term.batch, totals, reversals, unknown_outcome(journal.txns(state="failed")),
                  last_contact(journal.path), cfg.get("training") == "1",
                  term.waiting_settlement() is not None)
