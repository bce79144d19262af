"""Rows the host keeps: terminals, cards, QR codes, transactions, ledger postings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TerminalRow:
    tid: str
    mid: str
    tmk: str  # sealed under the LMK
    pik: str | None = None
    mak: str | None = None
    tdk: str | None = None
    key_gen: int = 0
    signed_in: bool = False
    batch: int = 1
    txn_limit: int = 5_000_000


@dataclass
class CardRow:
    id: int
    pan_ref: str
    pan_masked: str
    expiry: str  # YYMM
    status: str  # active, blocked, expired, locked
    kind: str  # magstripe, chip
    psn: str
    pin_verifier: str
    pin_tries: int = 0

    @property
    def account(self) -> str:
        return f"card:{self.id}"


@dataclass
class QrRow:
    code_ref: str
    wallet: str
    used: bool

    @property
    def account(self) -> str:
        return f"wallet:{self.wallet}"


@dataclass
class TxnRow:
    """One request the host answered, keyed by TID + batch + STAN + MTI (§7)."""

    tid: str
    batch: int
    stan: int
    mti: str
    kind: str
    content_hash: str | None
    amount: int = 0
    pan_ref: str | None = None
    account: str | None = None  # the cardholder's ledger account
    rc: str = ""
    rrn: str = ""
    auth_code: str = ""
    response: dict[str, str] = field(default_factory=dict)
    state: str = "approved"  # approved, declined, reversed, voided, tombstone, answered
    refunded: int = 0
    orig_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class Posting:
    """A balanced money movement: lines of (account, fen) that sum to zero."""

    kind: str
    ref: str
    lines: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        if sum(a for _, a in self.lines) != 0:
            raise ValueError(f"unbalanced posting {self.kind} {self.ref}")
        if any(not isinstance(a, int) for _, a in self.lines):
            raise TypeError("posting amounts are integer fen")
