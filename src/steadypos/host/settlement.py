"""Settlement (compare totals, close the batch) and batch upload (check records against ours)."""

from __future__ import annotations

import logging

from steadypos.host.context import Reply, Request
from steadypos.host.records import TxnRow
from steadypos.host.secrets import HostSecrets
from steadypos.host.session import rrn
from steadypos.host.store import Store
from steadypos.protocol.codes import ResponseCode
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import (
    SETTLE_BALANCED,
    SETTLE_UNBALANCED,
    Field60,
    Totals,
    parse_batch_records,
)
from steadypos.protocol.mti import Mti

log = logging.getLogger("steadypos.host")


def counted(txns: list[TxnRow]) -> tuple[list[TxnRow], list[TxnRow]]:
    """(debits, credits) of a batch as §3 counts them: approved sales neither voided nor
    reversed, and approved refunds."""
    debits = [t for t in txns if t.kind == "sale" and t.state == "approved"]
    credits = [t for t in txns if t.kind == "refund" and t.state == "approved"]
    return debits, credits


def host_totals(store: Store, tid: str, batch: int) -> Totals:
    debits, credits = counted(store.batch_txns(tid, batch))
    return Totals(sum(t.amount for t in debits), len(debits),
                  sum(t.amount for t in credits), len(credits))


def settle(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    """Compare the terminal's totals with ours and close the open batch. A batch closed before
    may be settled again (its totals are frozen); any other batch is answered 77."""
    try:
        theirs, _ = Totals.parse(req.msg.get(48))
    except ProtocolError:
        return Reply(ResponseCode.FORMAT_ERROR)
    term, batch = req.terminal, req.f60.batch
    if batch != term.batch and not store.settled(term.tid, batch):
        # Neither the open batch nor one the host has closed.
        return Reply(ResponseCode.BATCH_MISMATCH)
    ours = host_totals(store, term.tid, batch)
    result = SETTLE_BALANCED if ours == theirs else SETTLE_UNBALANCED
    store.record_settlement(term.tid, batch, result)
    if batch == term.batch:
        store.set_batch(term.tid, batch + 1)
    if result != SETTLE_BALANCED:
        log.info("%s batch %06d not balanced: terminal %s, host %s", term.tid, batch, theirs, ours)
    return Reply(ResponseCode.APPROVED, {
        15: req.now.strftime("%m%d"),
        37: rrn(store),
        48: theirs.format(result),
        60: Field60(req.f60.type, batch, req.f60.network).format(),
    })


def batch_upload(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    try:
        records = parse_batch_records(req.msg.get(48))
    except ProtocolError:
        return Reply(ResponseCode.FORMAT_ERROR)
    tid, batch = req.terminal.tid, req.f60.batch
    for rec in records:
        ours = [t for t in (store.txn(tid, batch, rec.stan, Mti.FINANCIAL),
                            store.txn(tid, batch, rec.stan, "0220")) if t is not None]
        ours = [t for t in ours if t.kind in ("sale", "refund")]
        if not ours:
            problem = "terminal has it, host does not"
        elif ours[0].state != "approved":
            problem = f"host has it as {ours[0].state}"
        elif ours[0].amount != rec.amount:
            problem = f"amount: terminal {rec.amount}, host {ours[0].amount}"
        elif ours[0].pan_ref not in (secrets.pan_ref(rec.pan), secrets.code_ref(rec.pan)):
            problem = "card differs"
        else:
            continue
        store.add_upload_diff(tid, batch, rec.stan, problem)
        log.info("%s batch %06d stan %06d upload differs: %s", tid, batch, rec.stan, problem)
    return Reply(ResponseCode.APPROVED)


def batch_upload_end(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    raw = req.msg.get(48)
    if len(raw) < 4 or not raw[:4].isdigit():
        return Reply(ResponseCode.FORMAT_ERROR)
    tid, batch = req.terminal.tid, req.f60.batch
    debits, credits = counted(store.batch_txns(tid, batch))
    theirs, ours = int(raw[:4]), len(debits) + len(credits)
    if theirs != ours:
        store.add_upload_diff(tid, batch, 0, f"count: terminal {theirs}, host {ours}")
    return Reply(ResponseCode.APPROVED)
