"""The host's queries, written once in portable SQL with :named parameters and compiled once per
backend into its driver's own SQL (SQLAlchemy's compiler, which knows each paramstyle and
quoting); the backends supply the connection, the schema and the few statements that differ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.engine import Dialect

from steadypos.clock import now_ts
from steadypos.host.records import (
    CardRow,
    KeySetRow,
    Posting,
    QrRow,
    RowLock,
    TerminalRow,
    TxnRow,
)

_TERMINAL_COLS = ("tid, mid, tmk, pik, mak, tdk, key_gen, signed_in, batch, txn_limit, mac, "
                  "status")
_CARD_COLS = ("id, pan_ref, pan_masked, expiry, status, kind, psn, pin_verifier, pin_tries, "
              "track_verifier")
_TXN_COLS = ("id, tid, batch, stan, mti, kind, content_hash, amount, pan_ref, account, rc, rrn, "
             "auth_code, response, state, refunded, orig_id, fingerprint")
_KEY_SET_COLS = "tid, gen, pik, mak, tdk, issued_at"
_TXN_FILTERS = (("stan", "stan = :stan"), ("rrn", "rrn = :rrn"),
                ("since", "created_at >= :since"), ("until", "created_at < :until"))


class StoreError(Exception):
    """The database cannot be opened, read or written (whatever the backend's driver said)."""


class StoreConflict(StoreError):
    """Another process changed the same rows first (a unique key taken, a deadlock): the same
    request run again sees what it committed."""


def store_error(exc: BaseException) -> StoreError:
    """The driver's error as a StoreError saying its first line."""
    said = str(exc).strip()
    return StoreError(said.splitlines()[0] if said else type(exc).__name__)


def _txn_row(row: Any) -> TxnRow:
    return TxnRow(id=row[0], tid=row[1], batch=row[2], stan=row[3], mti=row[4], kind=row[5],
                  content_hash=row[6], amount=row[7], pan_ref=row[8], account=row[9],
                  rc=row[10], rrn=row[11], auth_code=row[12],
                  response=json.loads(row[13] or "{}"), state=row[14], refunded=row[15],
                  orig_id=row[16], fingerprint=row[17])


def _terminal_row(row: Any) -> TerminalRow:
    return TerminalRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
                       row[8], row[9], row[10], row[11])


class SqlStore:
    """What every SQL backend shares. One connection, used by one thread at a time (the host's
    writer). Driver errors come out as StoreError."""

    dialect: ClassVar[Dialect]
    driver_error: ClassVar[type[Exception]]
    # Appended to the reads of rows a request may change next (its original, the paying
    # account): nothing for one writer (SQLite), a row lock where several processes write.
    lock: ClassVar[str] = ""
    row_locks: ClassVar[bool] = False  # whether terminal(lock=...) locks
    _compiled: ClassVar[dict[str, tuple[str, tuple[str, ...]]]]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._compiled = {}

    # -- backend hooks -------------------------------------------------------------------
    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _insert_returning_id(self, sql: str, params: dict[str, Any]) -> int:
        raise NotImplementedError

    # -- running statements --------------------------------------------------------------
    def _sql(self, sql: str) -> tuple[str, tuple[str, ...]]:
        """The driver's text of `sql` and the order of its parameters, compiled at first use."""
        found = self._compiled.get(sql)
        if found is None:
            compiled = text(sql).compile(dialect=self.dialect)
            found = (compiled.string, tuple(compiled.positiontup or ()))
            self._compiled[sql] = found
        return found

    def _run(self, sql: str, **params: Any) -> Any:
        """The cursor of one statement."""
        driver_sql, names = self._sql(sql)
        try:
            return self._execute(driver_sql, tuple(params[n] for n in names))
        except self.driver_error as exc:
            raise store_error(exc) from exc

    def ddl(self, sql: str) -> None:
        """One schema statement, as written (migrations)."""
        try:
            self._execute(sql, ())
        except self.driver_error as exc:
            raise store_error(exc) from exc

    def schema_version(self) -> int:
        """The migration the database is at (host/migrate.py); 0: none ran."""
        if not self.has_table("host_schema"):
            return 0
        row = self._run("SELECT version FROM host_schema").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version: int) -> None:
        self.ddl("CREATE TABLE IF NOT EXISTS host_schema (version INTEGER NOT NULL)")
        self._run("DELETE FROM host_schema")
        self._run("INSERT INTO host_schema (version) VALUES (:version)", version=version)

    def savepoint(self, name: str) -> None:
        self._run(f"SAVEPOINT {name}")

    def release(self, name: str) -> None:
        self._run(f"RELEASE SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        self._run(f"ROLLBACK TO SAVEPOINT {name}")

    # -- terminals -----------------------------------------------------------------------
    def add_terminal(self, t: TerminalRow) -> None:
        self._run(f"INSERT INTO terminals ({_TERMINAL_COLS}) VALUES (:tid, :mid, :tmk, :pik, "
                  ":mak, :tdk, :key_gen, :signed_in, :batch, :txn_limit, :mac, :status)",
                  tid=t.tid, mid=t.mid, tmk=t.tmk, pik=t.pik, mak=t.mak, tdk=t.tdk,
                  key_gen=t.key_gen, signed_in=int(t.signed_in), batch=t.batch,
                  txn_limit=t.txn_limit, mac=t.mac, status=t.status)

    def terminal(self, tid: str, lock: RowLock = RowLock.NONE) -> TerminalRow | None:
        clause = lock.value if self.row_locks else ""
        row = self._run(f"SELECT {_TERMINAL_COLS} FROM terminals WHERE tid = :tid{clause}",
                        tid=tid).fetchone()
        return None if row is None else _terminal_row(row)

    def update_registration(self, t: TerminalRow) -> None:
        """What registering again replaces: MID, TMK, MAC algorithm, limit, status."""
        self._run("UPDATE terminals SET mid = :mid, tmk = :tmk, mac = :mac, txn_limit = :limit, "
                  "status = :status WHERE tid = :tid", mid=t.mid, tmk=t.tmk, mac=t.mac,
                  limit=t.txn_limit, status=t.status, tid=t.tid)

    def terminals(self) -> list[TerminalRow]:
        return [_terminal_row(r) for r in
                self._run(f"SELECT {_TERMINAL_COLS} FROM terminals ORDER BY tid").fetchall()]

    def save_keys(self, t: TerminalRow) -> None:
        self._run("UPDATE terminals SET pik = :pik, mak = :mak, tdk = :tdk, key_gen = :gen, "
                  "signed_in = :signed_in WHERE tid = :tid", pik=t.pik, mak=t.mak, tdk=t.tdk,
                  gen=t.key_gen, signed_in=int(t.signed_in), tid=t.tid)

    def set_status(self, tid: str, status: str) -> None:
        self._run("UPDATE terminals SET status = :status WHERE tid = :tid", status=status, tid=tid)

    def set_batch(self, tid: str, batch: int) -> None:
        self._run("UPDATE terminals SET batch = :batch WHERE tid = :tid", batch=batch, tid=tid)

    # -- unused working key sets (§4 key rollover) -----------------------------------------
    def add_key_set(self, k: KeySetRow) -> None:
        self._run(f"INSERT INTO key_sets ({_KEY_SET_COLS}) VALUES (:tid, :gen, :pik, :mak, :tdk, "
                  ":issued_at)", tid=k.tid, gen=k.gen, pik=k.pik, mak=k.mak, tdk=k.tdk,
                  issued_at=k.issued_at)

    def key_sets(self, tid: str) -> list[KeySetRow]:
        """The terminal's unused sets, newest first."""
        return [KeySetRow(*r) for r in self._run(
            f"SELECT {_KEY_SET_COLS} FROM key_sets WHERE tid = :tid ORDER BY gen DESC", tid=tid)]

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

    def card(self, pan_ref: str) -> CardRow | None:
        row = self._run(f"SELECT {_CARD_COLS} FROM cards WHERE pan_ref = :ref",
                        ref=pan_ref).fetchone()
        return CardRow(*row) if row else None

    def cards(self) -> list[CardRow]:
        return [CardRow(*r) for r in self._run(f"SELECT {_CARD_COLS} FROM cards ORDER BY id")]

    def set_pin_tries(self, card_id: int, tries: int, status: str) -> None:
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

    # -- ledger --------------------------------------------------------------------------
    def ensure_account(self, account: str, kind: str) -> None:
        if self._run("SELECT 1 FROM accounts WHERE id = :id", id=account).fetchone() is None:
            self._run("INSERT INTO accounts (id, kind, balance) VALUES (:id, :kind, 0)",
                      id=account, kind=kind)

    def balance(self, account: str, for_update: bool = False) -> int:
        """`for_update`: the account is about to pay (one writer: nothing to lock)."""
        row = self._run("SELECT balance FROM accounts WHERE id = :id", id=account).fetchone()
        return int(row[0]) if row else 0

    def post(self, p: Posting) -> int:
        pid = self._insert_returning_id(
            "INSERT INTO postings (kind, ref, created_at) VALUES (:kind, :ref, :at)",
            dict(kind=p.kind, ref=p.ref, at=now_ts()))
        for line, (account, amount) in enumerate(p.lines):
            self._run("INSERT INTO posting_lines (posting_id, line, account, amount) "
                      "VALUES (:pid, :line, :account, :amount)", pid=pid, line=line,
                      account=account, amount=amount)
            self._add_to_balance(account, amount)
        return pid

    def _add_to_balance(self, account: str, amount: int) -> None:
        self._run("UPDATE accounts SET balance = balance + :amount WHERE id = :id",
                  amount=amount, id=account)

    def account_balances(self) -> list[tuple[str, str, int]]:
        return [(r[0], r[1], int(r[2])) for r in
                self._run("SELECT id, kind, balance FROM accounts ORDER BY kind, id")]

    def posting_sums(self) -> Iterator[tuple[int, str, str, int, int]]:
        """(posting id, kind, ref, sum of lines, number of lines) for every posting."""
        for r in self._run(
                "SELECT p.id, p.kind, p.ref, COALESCE(SUM(l.amount), 0), COUNT(l.amount) "
                "FROM postings p LEFT JOIN posting_lines l ON l.posting_id = p.id "
                "GROUP BY p.id, p.kind, p.ref ORDER BY p.id"):
            yield int(r[0]), r[1], r[2], int(r[3]), int(r[4])

    def line_totals(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in
                self._run("SELECT account, SUM(amount) FROM posting_lines GROUP BY account")}

    def postings(self) -> list[tuple[int, str, str, list[tuple[str, int]]]]:
        """(id, kind, ref, lines in the order posted) of every posting, oldest first."""
        out: dict[int, tuple[int, str, str, list[tuple[str, int]]]] = {}
        for pid, kind, ref in self._run("SELECT id, kind, ref FROM postings ORDER BY id"):
            out[pid] = (pid, kind, ref, [])
        for pid, account, amount in self._run(
                "SELECT posting_id, account, amount FROM posting_lines "
                "ORDER BY posting_id, line"):
            out[pid][3].append((account, int(amount)))
        return list(out.values())

    # -- transactions --------------------------------------------------------------------
    def txn(self, tid: str, batch: int, stan: int, mti: str) -> TxnRow | None:
        row = self._run(f"SELECT {_TXN_COLS} FROM txns WHERE tid = :tid AND batch = :batch "
                        f"AND stan = :stan AND mti = :mti{self.lock}", tid=tid, batch=batch,
                        stan=stan, mti=mti).fetchone()
        return None if row is None else _txn_row(row)

    def txn_by_id(self, txn_id: int) -> TxnRow | None:
        row = self._run(f"SELECT {_TXN_COLS} FROM txns WHERE id = :id{self.lock}",
                        id=txn_id).fetchone()
        return None if row is None else _txn_row(row)

    def batch_txns(self, tid: str, batch: int) -> list[TxnRow]:
        return [_txn_row(r) for r in self._run(
            f"SELECT {_TXN_COLS} FROM txns WHERE tid = :tid AND batch = :batch ORDER BY id",
            tid=tid, batch=batch).fetchall()]

    def terminal_txns(self, tid: str) -> list[TxnRow]:
        return [_txn_row(r) for r in self._run(
            f"SELECT {_TXN_COLS} FROM txns WHERE tid = :tid ORDER BY id", tid=tid).fetchall()]

    def insert_txn(self, t: TxnRow) -> int:
        t.id = self._insert_returning_id(
            "INSERT INTO txns (tid, batch, stan, mti, kind, content_hash, amount, pan_ref, "
            "account, rc, rrn, auth_code, response, state, refunded, orig_id, fingerprint, "
            "created_at) VALUES (:tid, :batch, :stan, :mti, :kind, :content_hash, :amount, "
            ":pan_ref, :account, :rc, :rrn, :auth_code, :response, :state, :refunded, :orig_id, "
            ":fingerprint, :at)",
            dict(tid=t.tid, batch=t.batch, stan=t.stan, mti=t.mti, kind=t.kind,
                 content_hash=t.content_hash, amount=t.amount, pan_ref=t.pan_ref,
                 account=t.account, rc=t.rc, rrn=t.rrn, auth_code=t.auth_code,
                 response=json.dumps(t.response, sort_keys=True), state=t.state,
                 refunded=t.refunded, orig_id=t.orig_id, fingerprint=t.fingerprint,
                 at=now_ts()))
        return t.id

    def update_txn(self, t: TxnRow) -> None:
        self._run("UPDATE txns SET state = :state, refunded = :refunded, response = :response, "
                  "rc = :rc WHERE id = :id", state=t.state, refunded=t.refunded,
                  response=json.dumps(t.response, sort_keys=True), rc=t.rc, id=t.id)

    def params_waiting(self, tid: str) -> bool:
        return self._run("SELECT 1 FROM params_waiting WHERE tid = :tid",
                         tid=tid).fetchone() is not None

    def set_params_waiting(self, tid: str, waiting: bool) -> None:
        self._run("DELETE FROM params_waiting WHERE tid = :tid", tid=tid)
        if waiting:
            self._run("INSERT INTO params_waiting (tid) VALUES (:tid)", tid=tid)

    def next_value(self, counter: str) -> int:
        row = self._run("SELECT value FROM counters WHERE name = :name",
                        name=counter).fetchone()
        value = (row[0] if row else 0) + 1
        if row:
            self._run("UPDATE counters SET value = :value WHERE name = :name", value=value,
                      name=counter)
        else:
            self._run("INSERT INTO counters (name, value) VALUES (:name, :value)", name=counter,
                      value=value)
        return int(value)

    # -- settlement ----------------------------------------------------------------------
    def record_settlement(self, tid: str, batch: int, result: str) -> None:
        self._run("INSERT INTO settlements (tid, batch, result, created_at) "
                  "VALUES (:tid, :batch, :result, :at)", tid=tid, batch=batch, result=result,
                  at=now_ts())

    def settled(self, tid: str, batch: int) -> bool:
        """Whether a settlement closed this batch of the terminal: its totals never change."""
        return self._run("SELECT 1 FROM settlements WHERE tid = :tid AND batch = :batch LIMIT 1",
                         tid=tid, batch=batch).fetchone() is not None

    def settled_batches(self, tid: str) -> list[int]:
        return [int(r[0]) for r in self._run(
            "SELECT DISTINCT batch FROM settlements WHERE tid = :tid ORDER BY batch", tid=tid)]

    def add_upload_diff(self, tid: str, batch: int, stan: int, problem: str) -> None:
        self._run("INSERT INTO upload_diffs (tid, batch, stan, problem, created_at) "
                  "VALUES (:tid, :batch, :stan, :problem, :at)", tid=tid, batch=batch, stan=stan,
                  problem=problem, at=now_ts())

    def upload_diffs(self, tid: str | None = None) -> list[tuple[str, int, int, str]]:
        sql = "SELECT tid, batch, stan, problem FROM upload_diffs"
        if tid is not None:
            sql += " WHERE tid = :tid"
        return [(r[0], int(r[1]), int(r[2]), r[3]) for r in
                self._run(sql + " ORDER BY id", **({} if tid is None else {"tid": tid}))]

    # -- operator queries (host/ops.py: `steadypos host terminals|txn|batch|card|audit`) ----------
    def last_request_times(self) -> dict[str, str]:
        """{tid: when the host last kept a request of the terminal (ISO, host clock)}."""
        return {r[0]: r[1] for r in
                self._run("SELECT tid, MAX(created_at) FROM txns GROUP BY tid")}

    def find_txns(self, tid: str, stan: int | None = None, rrn: str | None = None,
                  since: str | None = None, until: str | None = None, last: int | None = None
                  ) -> list[tuple[TxnRow, str]]:
        """(row, created_at) of the terminal's requests, oldest first; since <= created_at <
        until (ISO) when given; only the `last` newest when given."""
        given = {"stan": stan, "rrn": rrn, "since": since, "until": until}
        params: dict[str, Any] = {n: v for n, v in given.items() if v is not None}
        sql = f"SELECT {_TXN_COLS}, created_at FROM txns WHERE tid = :tid"
        sql += "".join(f" AND {clause}" for name, clause in _TXN_FILTERS if name in params)
        sql += " ORDER BY id DESC" + (" LIMIT :last" if last is not None else "")
        if last is not None:
            params["last"] = last
        rows = self._run(sql, tid=tid, **params).fetchall()
        return [(_txn_row(r[:-1]), r[-1]) for r in reversed(rows)]

    def settlements(self, tid: str, batch: int) -> list[tuple[str, str]]:
        """(result, created_at) of each settlement of the terminal's batch, oldest first."""
        return [(r[0], r[1]) for r in self._run(
            "SELECT result, created_at FROM settlements WHERE tid = :tid AND batch = :batch "
            "ORDER BY created_at", tid=tid, batch=batch)]

    def cards_used_at(self, tid: str, last4: str) -> list[CardRow]:
        """Cards whose PAN ends in last4 that made a request at the terminal (by masked PAN:
        the full one is never stored)."""
        cols = ", ".join(f"c.{c.strip()}" for c in _CARD_COLS.split(","))
        return [CardRow(*r) for r in self._run(
            f"SELECT DISTINCT {cols} FROM cards c JOIN txns t ON t.pan_ref = c.pan_ref "
            "WHERE t.tid = :tid AND c.pan_masked LIKE :pattern ORDER BY c.id", tid=tid,
            pattern=f"%{last4}")]

    def add_audit(self, operator: str, action: str, subject: str, detail: str) -> None:
        self._run("INSERT INTO host_audit (at, operator, action, subject, detail) "
                  "VALUES (:at, :operator, :action, :subject, :detail)", at=now_ts(),
                  operator=operator, action=action, subject=subject, detail=detail)

    def audit_entries(self) -> list[tuple[str, str, str, str, str]]:
        """(at, operator, action, subject, detail), oldest first."""
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self._run(
            "SELECT at, operator, action, subject, detail FROM host_audit ORDER BY id")]

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def merchant_names(self) -> dict[str, str]:
        """{mid: legal name} from the TMS's merchants when the TMS shares this database."""
        if not self.has_table("tms_merchants"):
            return {}
        return {r[0]: r[1] for r in self._run("SELECT mid, legal_name FROM tms_merchants")}
