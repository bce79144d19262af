"""The store interface: every query the host makes, in portable SQL. Backends supply the
connection, the DDL and the placeholder style; SQLite is the embedded default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from steadypos.host.records import CardRow, KeySetRow, Posting, QrRow, TerminalRow, TxnRow

_TERMINAL_COLS = ("tid, mid, tmk, pik, mak, tdk, key_gen, signed_in, batch, txn_limit, mac, "
                  "status")
_CARD_COLS = ("id, pan_ref, pan_masked, expiry, status, kind, psn, pin_verifier, pin_tries, "
              "track_verifier")
_TXN_COLS = ("id, tid, batch, stan, mti, kind, content_hash, amount, pan_ref, account, rc, rrn, "
             "auth_code, response, state, refunded, orig_id, fingerprint")
_KEY_SET_COLS = "tid, gen, pik, mak, tdk, issued_at"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """Base for backends. One connection, used by one thread at a time (the host's writer)."""

    placeholder = "?"

    # -- backend hooks -------------------------------------------------------------------
    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    def _insert_returning_id(self, sql: str, params: tuple[Any, ...]) -> int:
        raise NotImplementedError

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _has_table(self, name: str) -> bool:
        """Whether the database has this table (another component's, e.g. the TMS's)."""
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------
    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return self._execute(sql, params)

    def savepoint(self, name: str) -> None:
        self._q(f"SAVEPOINT {name}")

    def release(self, name: str) -> None:
        self._q(f"RELEASE SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        self._q(f"ROLLBACK TO SAVEPOINT {name}")

    # -- terminals -----------------------------------------------------------------------
    def add_terminal(self, t: TerminalRow) -> None:
        self._q(f"INSERT INTO terminals ({_TERMINAL_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (t.tid, t.mid, t.tmk, t.pik, t.mak, t.tdk, t.key_gen, int(t.signed_in), t.batch,
                 t.txn_limit, t.mac, t.status))

    def terminal(self, tid: str) -> TerminalRow | None:
        row = self._q(f"SELECT {_TERMINAL_COLS} FROM terminals WHERE tid = ?", (tid,)).fetchone()
        if row is None:
            return None
        return TerminalRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
                           row[8], row[9], row[10], row[11])

    def update_registration(self, t: TerminalRow) -> None:
        """What registering again replaces: MID, TMK, MAC algorithm, limit, status."""
        self._q("UPDATE terminals SET mid = ?, tmk = ?, mac = ?, txn_limit = ?, status = ? "
                "WHERE tid = ?", (t.mid, t.tmk, t.mac, t.txn_limit, t.status, t.tid))

    def terminals(self) -> list[TerminalRow]:
        rows = self._q("SELECT tid FROM terminals ORDER BY tid").fetchall()
        return [t for (tid,) in rows if (t := self.terminal(tid)) is not None]

    def save_keys(self, t: TerminalRow) -> None:
        self._q("UPDATE terminals SET pik = ?, mak = ?, tdk = ?, key_gen = ?, signed_in = ? "
                "WHERE tid = ?", (t.pik, t.mak, t.tdk, t.key_gen, int(t.signed_in), t.tid))

    def set_status(self, tid: str, status: str) -> None:
        self._q("UPDATE terminals SET status = ? WHERE tid = ?", (status, tid))

    def set_batch(self, tid: str, batch: int) -> None:
        self._q("UPDATE terminals SET batch = ? WHERE tid = ?", (batch, tid))

    # -- unused working key sets (§4 key rollover) -----------------------------------------
    def add_key_set(self, k: KeySetRow) -> None:
        self._q(f"INSERT INTO key_sets ({_KEY_SET_COLS}) VALUES (?,?,?,?,?,?)",
                (k.tid, k.gen, k.pik, k.mak, k.tdk, k.issued_at))

    def key_sets(self, tid: str) -> list[KeySetRow]:
        """The terminal's unused sets, newest first."""
        return [KeySetRow(*r) for r in self._q(
            f"SELECT {_KEY_SET_COLS} FROM key_sets WHERE tid = ? ORDER BY gen DESC", (tid,))]

    def delete_key_sets(self, tid: str, up_to_gen: int | None = None) -> None:
        """Every unused set of the terminal, or those of generation up_to_gen and older."""
        if up_to_gen is None:
            self._q("DELETE FROM key_sets WHERE tid = ?", (tid,))
        else:
            self._q("DELETE FROM key_sets WHERE tid = ? AND gen <= ?", (tid, up_to_gen))

    def delete_key_set(self, tid: str, gen: int) -> None:
        self._q("DELETE FROM key_sets WHERE tid = ? AND gen = ?", (tid, gen))

    # -- cards and QR codes --------------------------------------------------------------
    def add_card(self, c: CardRow) -> int:
        return self._insert_returning_id(
            "INSERT INTO cards (pan_ref, pan_masked, expiry, status, kind, psn, pin_verifier, "
            "pin_tries, track_verifier) VALUES (?,?,?,?,?,?,?,?,?)",
            (c.pan_ref, c.pan_masked, c.expiry, c.status, c.kind, c.psn, c.pin_verifier,
             c.pin_tries, c.track_verifier))

    def card(self, pan_ref: str) -> CardRow | None:
        row = self._q(f"SELECT {_CARD_COLS} FROM cards WHERE pan_ref = ?", (pan_ref,)).fetchone()
        return CardRow(*row) if row else None

    def cards(self) -> list[CardRow]:
        return [CardRow(*r) for r in self._q(f"SELECT {_CARD_COLS} FROM cards ORDER BY id")]

    def set_pin_tries(self, card_id: int, tries: int, status: str) -> None:
        self._q("UPDATE cards SET pin_tries = ?, status = ? WHERE id = ?", (tries, status, card_id))

    def add_qr(self, q: QrRow) -> None:
        self._q("INSERT INTO qr_codes (code_ref, wallet, used, issued_at) VALUES (?,?,?,?)",
                (q.code_ref, q.wallet, int(q.used), now_iso()))

    def qr(self, code_ref: str) -> QrRow | None:
        row = self._q("SELECT code_ref, wallet, used FROM qr_codes WHERE code_ref = ?",
                      (code_ref,)).fetchone()
        return QrRow(row[0], row[1], bool(row[2])) if row else None

    def use_qr(self, code_ref: str) -> None:
        self._q("UPDATE qr_codes SET used = 1 WHERE code_ref = ?", (code_ref,))

    # -- ledger --------------------------------------------------------------------------
    def ensure_account(self, account: str, kind: str) -> None:
        if self._q("SELECT 1 FROM accounts WHERE id = ?", (account,)).fetchone() is None:
            self._q("INSERT INTO accounts (id, kind, balance) VALUES (?,?,0)", (account, kind))

    def balance(self, account: str) -> int:
        row = self._q("SELECT balance FROM accounts WHERE id = ?", (account,)).fetchone()
        return int(row[0]) if row else 0

    def post(self, p: Posting) -> int:
        pid = self._insert_returning_id(
            "INSERT INTO postings (kind, ref, created_at) VALUES (?,?,?)",
            (p.kind, p.ref, now_iso()))
        for account, amount in p.lines:
            self._q("INSERT INTO posting_lines (posting_id, account, amount) VALUES (?,?,?)",
                    (pid, account, amount))
            self._q("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, account))
        return pid

    def account_balances(self) -> list[tuple[str, str, int]]:
        return [(r[0], r[1], int(r[2])) for r in
                self._q("SELECT id, kind, balance FROM accounts ORDER BY kind, id")]

    def posting_sums(self) -> Iterator[tuple[int, str, str, int, int]]:
        """(posting id, kind, ref, sum of lines, number of lines) for every posting."""
        yield from self._q(
            "SELECT p.id, p.kind, p.ref, COALESCE(SUM(l.amount), 0), COUNT(l.amount) "
            "FROM postings p LEFT JOIN posting_lines l ON l.posting_id = p.id "
            "GROUP BY p.id, p.kind, p.ref ORDER BY p.id")

    def line_totals(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in
                self._q("SELECT account, SUM(amount) FROM posting_lines GROUP BY account")}

    # -- transactions --------------------------------------------------------------------
    def _txn(self, row: Any) -> TxnRow | None:
        if row is None:
            return None
        return TxnRow(id=row[0], tid=row[1], batch=row[2], stan=row[3], mti=row[4], kind=row[5],
                      content_hash=row[6], amount=row[7], pan_ref=row[8], account=row[9],
                      rc=row[10], rrn=row[11], auth_code=row[12],
                      response=json.loads(row[13] or "{}"), state=row[14], refunded=row[15],
                      orig_id=row[16], fingerprint=row[17])

    def txn(self, tid: str, batch: int, stan: int, mti: str) -> TxnRow | None:
        return self._txn(self._q(
            f"SELECT {_TXN_COLS} FROM txns WHERE tid = ? AND batch = ? AND stan = ? AND mti = ?",
            (tid, batch, stan, mti)).fetchone())

    def txn_by_id(self, txn_id: int) -> TxnRow | None:
        return self._txn(self._q(f"SELECT {_TXN_COLS} FROM txns WHERE id = ?", (txn_id,))
                         .fetchone())

    def batch_txns(self, tid: str, batch: int) -> list[TxnRow]:
        rows = self._q(f"SELECT {_TXN_COLS} FROM txns WHERE tid = ? AND batch = ? ORDER BY id",
                       (tid, batch)).fetchall()
        return [t for r in rows if (t := self._txn(r)) is not None]

    def terminal_txns(self, tid: str) -> list[TxnRow]:
        rows = self._q(f"SELECT {_TXN_COLS} FROM txns WHERE tid = ? ORDER BY id", (tid,)).fetchall()
        return [t for r in rows if (t := self._txn(r)) is not None]

    def insert_txn(self, t: TxnRow) -> int:
        t.id = self._insert_returning_id(
            "INSERT INTO txns (tid, batch, stan, mti, kind, content_hash, amount, pan_ref, "
            "account, rc, rrn, auth_code, response, state, refunded, orig_id, fingerprint, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (t.tid, t.batch, t.stan, t.mti, t.kind, t.content_hash, t.amount, t.pan_ref, t.account,
             t.rc, t.rrn, t.auth_code, json.dumps(t.response, sort_keys=True), t.state, t.refunded,
             t.orig_id, t.fingerprint, now_iso()))
        return t.id

    def update_txn(self, t: TxnRow) -> None:
        self._q("UPDATE txns SET state = ?, refunded = ?, response = ?, rc = ? WHERE id = ?",
                (t.state, t.refunded, json.dumps(t.response, sort_keys=True), t.rc, t.id))

    def params_waiting(self, tid: str) -> bool:
        return self._q("SELECT 1 FROM params_waiting WHERE tid = ?", (tid,)).fetchone() is not None

    def set_params_waiting(self, tid: str, waiting: bool) -> None:
        self._q("DELETE FROM params_waiting WHERE tid = ?", (tid,))
        if waiting:
            self._q("INSERT INTO params_waiting (tid) VALUES (?)", (tid,))

    def next_value(self, counter: str) -> int:
        row = self._q("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
        value = (row[0] if row else 0) + 1
        if row:
            self._q("UPDATE counters SET value = ? WHERE name = ?", (value, counter))
        else:
            self._q("INSERT INTO counters (name, value) VALUES (?, ?)", (counter, value))
        return int(value)

    # -- settlement ----------------------------------------------------------------------
    def record_settlement(self, tid: str, batch: int, result: str) -> None:
        self._q("INSERT INTO settlements (tid, batch, result, created_at) VALUES (?,?,?,?)",
                (tid, batch, result, now_iso()))

    def settled(self, tid: str, batch: int) -> bool:
        """Whether a settlement closed this batch of the terminal: its totals never change."""
        return self._q("SELECT 1 FROM settlements WHERE tid = ? AND batch = ? LIMIT 1",
                       (tid, batch)).fetchone() is not None

    def settled_batches(self, tid: str) -> list[int]:
        return [int(r[0]) for r in self._q(
            "SELECT DISTINCT batch FROM settlements WHERE tid = ? ORDER BY batch", (tid,))]

    def add_upload_diff(self, tid: str, batch: int, stan: int, problem: str) -> None:
        self._q("INSERT INTO upload_diffs (tid, batch, stan, problem, created_at) "
                "VALUES (?,?,?,?,?)", (tid, batch, stan, problem, now_iso()))

    def upload_diffs(self, tid: str | None = None) -> list[tuple[str, int, int, str]]:
        sql = "SELECT tid, batch, stan, problem FROM upload_diffs"
        params: tuple[Any, ...] = ()
        if tid is not None:
            sql += " WHERE tid = ?"
            params = (tid,)
        return [tuple(r) for r in self._q(sql + " ORDER BY id", params)]  # type: ignore[misc]

    # -- operator queries (host/ops.py: `steadypos host terminals|txn|batch|card|audit`) ----------
    # Read-only but for the audit trail; every backend answers them with this portable SQL.
    def last_request_times(self) -> dict[str, str]:
        """{tid: when the host last kept a request of the terminal (ISO, host clock)}."""
        return {r[0]: r[1] for r in self._q("SELECT tid, MAX(created_at) FROM txns GROUP BY tid")}

    def find_txns(self, tid: str, stan: int | None = None, rrn: str | None = None,
                  since: str | None = None, until: str | None = None, last: int | None = None
                  ) -> list[tuple[TxnRow, str]]:
        """(row, created_at) of the terminal's requests, oldest first; since <= created_at <
        until (ISO) when given; only the `last` newest when given."""
        sql = f"SELECT {_TXN_COLS}, created_at FROM txns WHERE tid = ?"
        params: list[Any] = [tid]
        for clause, value in (("stan = ?", stan), ("rrn = ?", rrn), ("created_at >= ?", since),
                              ("created_at < ?", until)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        sql += " ORDER BY id DESC" + (" LIMIT ?" if last is not None else "")
        rows = self._q(sql, (*params, last) if last is not None else tuple(params)).fetchall()
        return [(t, r[-1]) for r in reversed(rows) if (t := self._txn(r[:-1])) is not None]

    def settlements(self, tid: str, batch: int) -> list[tuple[str, str]]:
        """(result, created_at) of each settlement of the terminal's batch, oldest first."""
        return [(r[0], r[1]) for r in self._q(
            "SELECT result, created_at FROM settlements WHERE tid = ? AND batch = ? "
            "ORDER BY created_at", (tid, batch))]

    def cards_used_at(self, tid: str, last4: str) -> list[CardRow]:
        """Cards whose PAN ends in last4 that made a request at the terminal (by masked PAN:
        the full one is never stored)."""
        cols = ", ".join(f"c.{c.strip()}" for c in _CARD_COLS.split(","))
        return [CardRow(*r) for r in self._q(
            f"SELECT DISTINCT {cols} FROM cards c JOIN txns t ON t.pan_ref = c.pan_ref "
            "WHERE t.tid = ? AND c.pan_masked LIKE ? ORDER BY c.id", (tid, f"%{last4}"))]

    def add_audit(self, operator: str, action: str, subject: str, detail: str) -> None:
        self._q("INSERT INTO host_audit (at, operator, action, subject, detail) "
                "VALUES (?,?,?,?,?)", (now_iso(), operator, action, subject, detail))

    def audit_entries(self) -> list[tuple[str, str, str, str, str]]:
        """(at, operator, action, subject, detail), oldest first."""
        return [tuple(r) for r in self._q(  # type: ignore[misc]
            "SELECT at, operator, action, subject, detail FROM host_audit ORDER BY id")]

    def merchant_names(self) -> dict[str, str]:
        """{mid: legal name} from the TMS's merchants when the TMS shares this database."""
        if not self._has_table("tms_merchants"):
            return {}
        return {r[0]: r[1] for r in self._q("SELECT mid, legal_name FROM tms_merchants")}
