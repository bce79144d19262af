"""Operator queries of the host (`steadypos host terminals|txn|batch|card unlock|audit`) through
the store's public methods: money in fen, cards by masked PAN, never a full PAN, track or key."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from steadypos.host.ledger import FUNDING
from steadypos.host.records import CardRow, TxnRow
from steadypos.host.settlement import counted
from steadypos.host.store import Store
from steadypos.masking import scrub
from steadypos.protocol.fields import SETTLE_BALANCED, SETTLE_ERROR, SETTLE_UNBALANCED
from steadypos.protocol.messages import MessageName

TID = re.compile(r"[0-9A-Za-z]{8}")
SETTLEMENT_RESULT = {SETTLE_BALANCED: "balanced", SETTLE_UNBALANCED: "not balanced",
                     SETTLE_ERROR: "error"}


class OpsError(ValueError):
    """Input an operator query cannot take (one line, exit 2)."""


class BatchState(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    CLOSED = "closed"  # an old batch the terminal never settled (a newer one is open)


class UnlockAction(StrEnum):
    UNLOCK = "card unlock"


@dataclass(frozen=True)
class TerminalView:
    tid: str
    mid: str
    mac: str
    status: str
    signed_in: bool
    open_batch: int
    last_request: str | None  # ISO, host clock (UTC); None: never


@dataclass(frozen=True)
class TxnView:
    tid: str
    batch: int
    stan: int
    mti: str
    kind: str
    amount: int  # fen
    payer: str  # masked PAN, or the wallet of a QR payment
    rc: str
    state: str
    reversal: str  # "", "reversed", or what a reversal row did
    refunded: int  # fen
    rrn: str
    auth_code: str
    at: str  # ISO, host clock (UTC)


@dataclass(frozen=True)
class BatchView:
    tid: str
    batch: int
    state: BatchState
    settlement: str  # the last settlement's result (balanced, not balanced), "" if none
    sales: int
    sales_amount: int  # fen
    refunds: int
    refunds_amount: int  # fen
    voided: int
    reversed: int
    declined: int

    @property
    def net(self) -> int:
        return self.sales_amount - self.refunds_amount


@dataclass(frozen=True)
class Unlocked:
    card: str  # masked PAN
    status_before: str
    tries_before: int


def as_json(view: Any) -> dict[str, Any]:
    data = asdict(view)
    if isinstance(view, BatchView):
        data["net"] = view.net
    return data


def check_tid(tid: str) -> str:
    if not TID.fullmatch(tid):
        raise OpsError(f"--tid must be 8 letters or digits, not {tid!r}")
    return tid.upper()


def _terminal(store: Store, tid: str) -> Any:
    term = store.terminal(check_tid(tid))
    if term is None:
        raise OpsError(f"no terminal {tid.upper()} on this host")
    return term


def terminals(store: Store) -> list[TerminalView]:
    last = store.last_request_times()
    return [TerminalView(t.tid, t.mid, t.mac, t.status, t.signed_in, t.batch, last.get(t.tid))
            for t in store.terminals()]


def _payer(store: Store, row: TxnRow, cards: dict[str, str]) -> str:
    if row.account and row.account.startswith("wallet:"):
        return "QR " + row.account.removeprefix("wallet:")
    if not row.pan_ref:
        return ""
    if row.pan_ref not in cards:
        card = store.card(row.pan_ref)
        cards[row.pan_ref] = card.pan_masked if card else "?"
    return cards[row.pan_ref]


def _reversal(row: TxnRow) -> str:
    if row.kind == MessageName.REVERSAL:
        return f"reversal {row.rc or '-'}"
    if row.kind == "tombstone":
        return "reversal before its original"
    if row.state == "reversed":
        return "reversed"
    return ""


def day_range(day: str) -> tuple[str, str]:
    try:
        start = date.fromisoformat(day)
    except ValueError:
        raise OpsError(f"--date must be YYYY-MM-DD, not {day!r}") from None
    return start.isoformat(), (start + timedelta(days=1)).isoformat()


def find_txns(store: Store, tid: str, stan: int | None = None, rrn: str | None = None,
              day: str | None = None, last: int | None = None) -> list[TxnView]:
    """The terminal's requests by STAN, RRN or day (UTC), oldest first; the `last` newest."""
    term = _terminal(store, tid)
    if sum(x is not None for x in (stan, rrn, day)) > 1:
        raise OpsError("give one of --stan, --rrn, --date")
    if stan is not None and not 0 < stan < 1_000_000:
        raise OpsError("--stan must be 1 to 999999")
    if rrn is not None and not (len(rrn) == 12 and rrn.isalnum()):
        raise OpsError("--rrn must be 12 letters or digits")
    if last is not None and last < 1:
        raise OpsError("--last must be 1 or more")
    since, until = day_range(day) if day is not None else (None, None)
    found = store.find_txns(term.tid, stan=stan, rrn=rrn, since=since, until=until, last=last)
    cards: dict[str, str] = {}
    return [TxnView(r.tid, r.batch, r.stan, r.mti, r.kind, r.amount, _payer(store, r, cards),
                    r.rc, r.state, _reversal(r), r.refunded, r.rrn, r.auth_code, at)
            for r, at in found]


def batch(store: Store, tid: str, number: int | None = None) -> BatchView:
    """A batch's totals as settlement counts them (§3): the open batch without a number."""
    term = _terminal(store, tid)
    number = term.batch if number is None else number
    if not 0 < number < 1_000_000:
        raise OpsError("--batch must be 1 to 999999")
    if number > term.batch:
        raise OpsError(f"batch {number:06d} is not open yet (the open batch of {term.tid} is "
                       f"{term.batch:06d})")
    settled = store.settlements(term.tid, number)
    state = (BatchState.SETTLED if settled else
             BatchState.OPEN if number == term.batch else BatchState.CLOSED)
    txns = store.batch_txns(term.tid, number)
    debits, credits = counted(txns)
    money = [t for t in txns if t.kind in (MessageName.SALE, MessageName.REFUND)]
    result = SETTLEMENT_RESULT.get(settled[-1][0], settled[-1][0]) if settled else ""
    return BatchView(term.tid, number, state, result,
                     len(debits), sum(t.amount for t in debits),
                     len(credits), sum(t.amount for t in credits),
                     sum(t.state == "voided" for t in money),
                     sum(t.state == "reversed" for t in money),
                     sum(t.state == "declined" for t in money))


def _one_card(store: Store, tid: str, last4: str, expiry: str | None) -> CardRow:
    if not (len(last4) == 4 and last4.isdigit()):
        raise OpsError("--pan-last4 must be 4 digits")
    if expiry is not None and not (len(expiry) == 4 and expiry.isdigit()):
        raise OpsError("--expiry must be YYMM")
    found = [c for c in store.cards_used_at(tid, last4) if expiry in (None, c.expiry)]
    if not found:
        raise OpsError(f"no card ending in {last4} made a request at {tid}")
    if len(found) > 1:
        which = ", ".join(f"{c.pan_masked} (expiry {c.expiry})" for c in found)
        raise OpsError(f"{len(found)} cards ending in {last4} were used at {tid}: {which}; "
                       "tell them apart with --expiry")
    return found[0]


def unlock_card(store: Store, tid: str, last4: str, operator: str, reason: str,
                expiry: str | None = None) -> Unlocked:
    """Unlock a card locked by wrong PINs (75) that was used at the terminal; the audit trail
    keeps who, why, and the card by masked PAN. OpsError when there is nothing to unlock."""
    term = _terminal(store, tid)
    if not operator.strip() or not reason.strip():
        raise OpsError("--operator and --reason must not be empty")
    store.begin()
    try:
        card = _one_card(store, term.tid, last4, expiry)
        if card.status != "locked" and not card.pin_tries:
            raise OpsError(f"card {card.pan_masked} is not locked (status {card.status}, "
                           "no wrong PIN counted)")
        status = "active" if card.status == "locked" else card.status
        store.set_pin_tries(card.id, 0, status)
        store.add_audit(operator.strip(), UnlockAction.UNLOCK, card.pan_masked,
                        f"at {term.tid}: status {card.status} -> {status}, wrong PINs "
                        f"{card.pin_tries} -> 0; reason: {scrub(reason.strip())}")
        store.commit()
    except BaseException:
        store.rollback()
        raise
    return Unlocked(card.pan_masked, card.status, card.pin_tries)


def account_names(store: Store) -> dict[str, str]:
    """{ledger account: what a person calls it}: merchant MID and name (from the TMS when it
    shares the database), card by masked PAN, wallet, the issuer's funding."""
    names = {FUNDING: "issuer funding"}
    merchants = store.merchant_names()
    for account, kind, _ in store.account_balances():
        if kind == "merchant":
            mid = account.removeprefix("merchant:")
            names[account] = f"merchant {mid}" + (f" {merchants[mid]}" if mid in merchants else "")
        elif kind == "wallet":
            names[account] = "wallet " + account.removeprefix("wallet:")
    for card in store.cards():
        names[card.account] = f"card {card.pan_masked}"
    return names
