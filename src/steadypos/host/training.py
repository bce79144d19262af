"""The training sandbox: a request whose header says terminal state `1` runs through the same
handlers, on a view of the store in which no money moves. Card balances, the ledger, PIN tries,
one-time QR codes, settlements and the open batch stay as they were; the transaction rows it
keeps are marked (MTI `T0200`, kind `training:sale`) so that live lookups, settlement totals and
batch uploads never see them, and training lookups see only them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from steadypos.host.records import Posting, TxnRow
from steadypos.host.store import Store

MTI_MARK = "T"
KIND_MARK = "training:"


def is_training(row: TxnRow) -> bool:
    return row.kind.startswith(KIND_MARK)


def _marked(row: TxnRow) -> TxnRow:
    return replace(row, mti=MTI_MARK + row.mti, kind=KIND_MARK + row.kind)


def _unmarked(row: TxnRow | None) -> TxnRow | None:
    if row is None or not is_training(row):
        return None
    return replace(row, mti=row.mti[len(MTI_MARK):], kind=row.kind[len(KIND_MARK):])


class TrainingStore:
    """The store as a training request sees it; everything not named here is the real store's
    (terminals, keys, cards, counters: reading them moves nothing)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    # -- training rows only ----------------------------------------------------------------
    def txn(self, tid: str, batch: int, stan: int, mti: str) -> TxnRow | None:
        return _unmarked(self._store.txn(tid, batch, stan, MTI_MARK + mti))

    def txn_by_id(self, txn_id: int) -> TxnRow | None:
        return _unmarked(self._store.txn_by_id(txn_id))

    def batch_txns(self, tid: str, batch: int) -> list[TxnRow]:
        rows = (_unmarked(r) for r in self._store.batch_txns(tid, batch))
        return [r for r in rows if r is not None]

    def terminal_txns(self, tid: str) -> list[TxnRow]:
        rows = (_unmarked(r) for r in self._store.terminal_txns(tid))
        return [r for r in rows if r is not None]

    def insert_txn(self, t: TxnRow) -> None:
        self._store.insert_txn(_marked(t))

    def update_txn(self, t: TxnRow) -> None:
        if t.id is not None and self.txn_by_id(t.id) is not None:  # never a live row
            self._store.update_txn(t)

    # -- nothing moves ---------------------------------------------------------------------
    def post(self, p: Posting) -> None:
        return None

    def ensure_account(self, account: str, kind: str) -> None:
        return None

    def set_pin_tries(self, card_id: int, tries: int, status: str) -> None:
        return None

    def use_qr(self, code_ref: str) -> None:
        return None

    def record_settlement(self, tid: str, batch: int, result: str) -> None:
        return None

    def set_batch(self, tid: str, batch: int) -> None:
        return None

    def add_upload_diff(self, tid: str, batch: int, stan: int, problem: str) -> None:
        return None
