"""Settlement records, upload differences, the operator's queries (`steadypos host
terminals|txn|batch|card|audit`) and the audit trail, in SQL every store shares."""

from __future__ import annotations

from typing import Any

from steadypos.clock import now_ts
from steadypos.host.records import CardRow, TxnRow
from steadypos.host.sql_rows import CARD_COLS, TXN_COLS, txn_row
from steadypos.host.sql_run import SqlRun

_TXN_FILTERS = (("stan", "stan = :stan"), ("rrn", "rrn = :rrn"),
                ("since", "created_at >= :since"), ("until", "created_at < :until"))


class SqlOps(SqlRun):
    """Settlements, upload differences, operator queries and audit entries."""

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
        sql = f"SELECT {TXN_COLS}, created_at FROM txns WHERE tid = :tid"
        sql += "".join(f" AND {clause}" for name, clause in _TXN_FILTERS if name in params)
        sql += " ORDER BY id DESC" + (" LIMIT :last" if last is not None else "")
        if last is not None:
            params["last"] = last
        rows = self._run(sql, tid=tid, **params).fetchall()
        return [(txn_row(r[:-1]), r[-1]) for r in reversed(rows)]

    def settlements(self, tid: str, batch: int) -> list[tuple[str, str]]:
        """(result, created_at) of each settlement of the terminal's batch, oldest first."""
        return [(r[0], r[1]) for r in self._run(
            "SELECT result, created_at FROM settlements WHERE tid = :tid AND batch = :batch "
            "ORDER BY created_at", tid=tid, batch=batch)]

    def cards_used_at(self, tid: str, last4: str) -> list[CardRow]:
        """Cards whose PAN ends in last4 that made a request at the terminal (by masked PAN:
        the full one is never stored)."""
        cols = ", ".join(f"c.{c.strip()}" for c in CARD_COLS.split(","))
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

    def merchant_names(self) -> dict[str, str]:
        """{mid: legal name} from the TMS's merchants when the TMS shares this database."""
        if not self.has_table("tms_merchants"):
            return {}
        return {r[0]: r[1] for r in self._run("SELECT mid, legal_name FROM tms_merchants")}
