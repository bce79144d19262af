"""The host's rows other than money: terminals and their key sets, cards, QR codes, the TMS's
parameter flags, and the transactions kept per idempotency key (TID + batch + STAN + MTI)."""

from __future__ import annotations

import json
from operator import attrgetter
from typing import Any

from steadypos.clock import now_ts
from steadypos.host.canonical import object_text
from steadypos.host.records import CardRow, KeySetRow, QrRow, RowLock, TerminalRow, TxnRow
from steadypos.host.sql_run import SqlRun
from steadypos.protocol.mac import MacAlgorithm

TERMINAL_COLS = ("tid, mid, tmk, pik, mak, tdk, key_gen, signed_in, batch, txn_limit, mac, "
                 "status")
CARD_COLS = ("id, pan_ref, pan_masked, expiry, status, kind, psn, pin_verifier, pin_tries, "
             "track_verifier")
TXN_COLS = ("id, tid, batch, stan, mti, kind, content_hash, amount, pan_ref, account, rc, rrn, "
            "auth_code, response, state, refunded, orig_id, fingerprint")
# A terminal as read: its columns, and whether the TMS has parameters waiting for it (one
# statement for both, under the row's lock).
_TERMINAL_READ = (f"SELECT {TERMINAL_COLS}, EXISTS (SELECT 1 FROM params_waiting p "
                  "WHERE p.tid = terminals.tid) FROM terminals")
KEY_SET_COLS = "tid, gen, pik, mak, tdk, issued_at"


def txn_row(row: Any) -> TxnRow:
    return TxnRow(id=row[0], tid=row[1], batch=row[2], stan=row[3], mti=row[4], kind=row[5],
                  content_hash=row[6], amount=row[7], pan_ref=row[8], account=row[9],
                  rc=row[10], rrn=row[11], auth_code=row[12],
                  response=json.loads(row[13] or "{}"), state=row[14], refunded=row[15],
                  orig_id=row[16], fingerprint=row[17])


# What INSERT_TXN writes, in its order: the row's attributes of these names, the stored answer
# and the time. The column list and txn_values() are made from the same names, so they cannot
# come apart; two attrgetters read them (a getter a column cost 18 Python calls a row).
_TXN_HEAD = ("tid", "batch", "stan", "mti", "kind", "content_hash", "amount", "pan_ref",
             "account", "rc", "rrn", "auth_code")  # fmt: skip
_TXN_TAIL = ("state", "refunded", "orig_id", "fingerprint")
_TXN_COLUMNS = (*_TXN_HEAD, "response", *_TXN_TAIL, "created_at")
_head, _tail = attrgetter(*_TXN_HEAD), attrgetter(*_TXN_TAIL)
INSERT_TXN = (f"INSERT INTO txns ({', '.join(_TXN_COLUMNS)}) "
              f"VALUES ({', '.join(f':{c}' for c in _TXN_COLUMNS)})")


def txn_values(t: TxnRow) -> tuple[Any, ...]:
    """The parameters of INSERT_TXN for the row, in their order."""
    return (*_head(t), object_text(t.response), *_tail(t), now_ts())


def terminal_row(row: Any) -> TerminalRow:
    return TerminalRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
                       row[8], row[9], MacAlgorithm(row[10]), row[11], bool(row[12]))


class SqlRows(SqlRun):
    """Terminals, keys, cards, QR codes and transaction rows. Where the store `keeps_rows`, the
    terminal and card rows read are kept (as the database gave them) for the transactions after,
    and every write of this class drops what it changes."""

    def __init__(self) -> None:
        super().__init__()
        self._terminal_rows: dict[str, Any] = {}  # tid -> its row, as read
        self._card_rows: dict[str, Any] = {}  # pan_ref -> its row, as read

    def _forget_kept(self) -> None:
        super()._forget_kept()
        self._terminal_rows.clear()
        self._card_rows.clear()

    def _changed_terminal(self, tid: str) -> None:
        self._terminal_rows.pop(tid, None)

    # -- terminals -----------------------------------------------------------------------
    def add_terminal(self, t: TerminalRow) -> None:
        self._changed_terminal(t.tid)
        self._run(f"INSERT INTO terminals ({TERMINAL_COLS}) VALUES (:tid, :mid, :tmk, :pik, "
                  ":mak, :tdk, :key_gen, :signed_in, :batch, :txn_limit, :mac, :status)",
                  tid=t.tid, mid=t.mid, tmk=t.tmk, pik=t.pik, mak=t.mak, tdk=t.tdk,
                  key_gen=t.key_gen, signed_in=int(t.signed_in), batch=t.batch,
                  txn_limit=t.txn_limit, mac=t.mac, status=t.status)

    def terminal(self, tid: str, lock: RowLock = RowLock.NONE) -> TerminalRow | None:
        row = self._terminal_rows.get(tid) if self._kept else None
        if row is None:
            clause = lock.value if self.row_locks else ""
            row = self._run(f"{_TERMINAL_READ} WHERE tid = :tid{clause}", tid=tid).fetchone()
            if row is None:
                return None
            if self._kept:
                self._terminal_rows[tid] = row
        return terminal_row(row)

    def update_registration(self, t: TerminalRow) -> None:
        """What registering again replaces: MID, TMK, MAC algorithm, limit, status."""
        self._changed_terminal(t.tid)
        self._run("UPDATE terminals SET mid = :mid, tmk = :tmk, mac = :mac, txn_limit = :limit, "
                  "status = :status WHERE tid = :tid", mid=t.mid, tmk=t.tmk, mac=t.mac,
                  limit=t.txn_limit, status=t.status, tid=t.tid)

    def terminals(self) -> list[TerminalRow]:
        return [terminal_row(r) for r in
                self._run(f"{_TERMINAL_READ} ORDER BY tid").fetchall()]

    def save_keys(self, t: TerminalRow) -> None:
        self._changed_terminal(t.tid)
        self._run("UPDATE terminals SET pik = :pik, mak = :mak, tdk = :tdk, key_gen = :gen, "
                  "signed_in = :signed_in WHERE tid = :tid", pik=t.pik, mak=t.mak, tdk=t.tdk,
                  gen=t.key_gen, signed_in=int(t.signed_in), tid=t.tid)

    def set_status(self, tid: str, status: str) -> None:
        self._changed_terminal(tid)
        self._run("UPDATE terminals SET status = :status WHERE tid = :tid", status=status, tid=tid)

    def set_batch(self, tid: str, batch: int) -> None:
        self._changed_terminal(tid)
        self._run("UPDATE terminals SET batch = :batch WHERE tid = :tid", batch=batch, tid=tid)

    # -- unused working key sets (§4 key rollover) -----------------------------------------
    def add_key_set(self, k: KeySetRow) -> None:
        self._run(f"INSERT INTO key_sets ({KEY_SET_COLS}) VALUES (:tid, :gen, :pik, :mak, :tdk, "
                  ":issued_at)", tid=k.tid, gen=k.gen, pik=k.pik, mak=k.mak, tdk=k.tdk,
                  issued_at=k.issued_at)

    def key_sets(self, tid: str) -> list[KeySetRow]:
        """The terminal's unused sets, newest first."""
        return [KeySetRow(*r) for r in self._run(
            f"SELECT {KEY_SET_COLS} FROM key_sets WHERE tid = :tid ORDER BY gen DESC", tid=tid)]

    def delete_key_sets(self, tid: str, up_to_gen: int | None = None) -> None:
        """Every unused set of the terminal, or those of generation up_to_gen and older."""
        if up_to_gen is None:
            self._run("DELETE FROM key_sets WHERE tid = :tid", tid=tid)
        else:
            self._run("DELETE FROM key_sets WHERE tid = :tid AND gen <= :gen", tid=tid,
                      gen=up_to_gen)

    def delete_key_set(self, tid: str, gen: int) -> None:
        self._run("DELETE FROM key_sets WHERE tid = :tid AND gen = :gen", tid=tid, gen=gen)

    # -- cards and QR codes --------------------------------------------------------------
    def add_card(self, c: CardRow) -> int:
        return self._insert_returning_id(
            "INSERT INTO cards (pan_ref, pan_masked, expiry, status, kind, psn, pin_verifier, "
            "pin_tries, track_verifier) VALUES (:pan_ref, :pan_masked, :expiry, :status, :kind, "
            ":psn, :pin_verifier, :pin_tries, :track_verifier)",
            dict(pan_ref=c.pan_ref, pan_masked=c.pan_masked, expiry=c.expiry, status=c.status,
                 kind=c.kind, psn=c.psn, pin_verifier=c.pin_verifier, pin_tries=c.pin_tries,
                 track_verifier=c.track_verifier))

    def card(self, pan_ref: str, pays: bool = False) -> CardRow | None:
        """`pays`: the card is about to pay (where several processes write, its account's row
        is locked with the same statement; one writer: nothing to lock)."""
        row = self._card_rows.get(pan_ref) if self._kept else None
        if row is None:
            row = self._run(f"SELECT {CARD_COLS} FROM cards WHERE pan_ref = :ref",
                            ref=pan_ref).fetchone()
            if row is None:
                return None
            if self._kept:
                self._card_rows[pan_ref] = row
        return CardRow(*row)

    def cards(self) -> list[CardRow]:
        return [CardRow(*r) for r in self._run(f"SELECT {CARD_COLS} FROM cards ORDER BY id")]

    def set_pin_tries(self, card_id: int, tries: int, status: str) -> None:
        self._card_rows.clear()  # kept by PAN reference, not id; a wrong PIN is rare
        self._run("UPDATE cards SET pin_tries = :tries, status = :status WHERE id = :id",
                  tries=tries, status=status, id=card_id)

    def add_qr(self, q: QrRow) -> None:
        self._run("INSERT INTO qr_codes (code_ref, wallet, used, issued_at) "
                  "VALUES (:ref, :wallet, :used, :at)", ref=q.code_ref, wallet=q.wallet,
                  used=int(q.used), at=now_ts())

    def qr(self, code_ref: str) -> QrRow | None:
        row = self._run("SELECT code_ref, wallet, used FROM qr_codes WHERE code_ref = :ref",
                        ref=code_ref).fetchone()
        return QrRow(row[0], row[1], bool(row[2])) if row else None

    def use_qr(self, code_ref: str) -> None:
        self._run("UPDATE qr_codes SET used = 1 WHERE code_ref = :ref", ref=code_ref)

    def params_waiting(self, tid: str) -> bool:
        return self._run("SELECT 1 FROM params_waiting WHERE tid = :tid",
                         tid=tid).fetchone() is not None

    def set_params_waiting(self, tid: str, waiting: bool) -> None:
        self._changed_terminal(tid)  # read with the terminal's row
        self._run("DELETE FROM params_waiting WHERE tid = :tid", tid=tid)
        if waiting:
            self._run("INSERT INTO params_waiting (tid) VALUES (:tid)", tid=tid)

    # -- transactions --------------------------------------------------------------------
    def txn(self, tid: str, batch: int, stan: int, mti: str) -> TxnRow | None:
        row = self._run(f"SELECT {TXN_COLS} FROM txns WHERE tid = :tid AND batch = :batch "
                        f"AND stan = :stan AND mti = :mti{self.lock}", tid=tid, batch=batch,
                        stan=stan, mti=mti).fetchone()
        return None if row is None else txn_row(row)

    def txn_by_id(self, txn_id: int) -> TxnRow | None:
        row = self._run(f"SELECT {TXN_COLS} FROM txns WHERE id = :id{self.lock}",
                        id=txn_id).fetchone()
        return None if row is None else txn_row(row)

    def batch_txns(self, tid: str, batch: int) -> list[TxnRow]:
        return [txn_row(r) for r in self._run(
            f"SELECT {TXN_COLS} FROM txns WHERE tid = :tid AND batch = :batch ORDER BY id",
            tid=tid, batch=batch).fetchall()]

    def terminal_txns(self, tid: str) -> list[TxnRow]:
        return [txn_row(r) for r in self._run(
            f"SELECT {TXN_COLS} FROM txns WHERE tid = :tid ORDER BY id", tid=tid).fetchall()]

    def insert_txn(self, t: TxnRow) -> None:
        """The row is kept; its id is not read back (on PostgreSQL a round trip that nothing
        needs: the row is found again by its key)."""
        self._run_seq(INSERT_TXN, txn_values(t))

    def update_txn(self, t: TxnRow) -> None:
        self._run("UPDATE txns SET state = :state, refunded = :refunded, response = :response, "
                  "rc = :rc WHERE id = :id", state=t.state, refunded=t.refunded,
                  response=object_text(t.response), rc=t.rc, id=t.id)
