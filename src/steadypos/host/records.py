"""Rows the host keeps: terminals, cards, QR codes, transactions, ledger postings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from steadypos.protocol.mac import MacAlgorithm

DEFAULT_TXN_LIMIT = 5_000_000  # fen per transaction


class RowLock(Enum):
    """Whether a read holds the row until its transaction commits, where several host processes
    write (a terminal's requests then run one at a time). One writer (SQLite) needs none."""

    NONE = ""
    UPDATE = " FOR UPDATE"


@dataclass
class TerminalRow:
    """A terminal of the registry; pik/mak/tdk are the working keys in force (sealed), key_gen
    their generation. Unused newer sets live in KeySetRow (§4 key rollover)."""

    tid: str
    mid: str
    tmk: str  # sealed under the LMK
    pik: str | None = None
    mak: str | None = None
    tdk: str | None = None
    key_gen: int = 0
    signed_in: bool = False
    batch: int = 1
    txn_limit: int = DEFAULT_TXN_LIMIT
    mac: MacAlgorithm = MacAlgorithm.X919  # made from the column's text when the row is read
    status: str = "active"  # registry.TerminalStatus
    params_waiting: bool = False  # the TMS has newer parameters (read with the row, not kept)


@dataclass(frozen=True)
class KeySetRow:
    """A working key set issued at a sign-in and not used yet (keys sealed under the LMK)."""

    tid: str
    gen: int
    pik: str
    mak: str
    tdk: str
    issued_at: str  # host clock, ISO


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
    track_verifier: str = ""  # keyed hash of the magstripe's track 2 ("" = not on record)

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
    fingerprint: str = ""  # keyed hash of the fields a reversal must repeat (§7)
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
