"""What every SQL store shares, put together from its parts: running statements (`sql_run.py`),
the rows other than money (`sql_rows.py`), the ledger and counters (`sql_ledger.py`), settlement
and the operator's queries (`sql_ops.py`). A backend supplies the connection and what differs."""

from __future__ import annotations

from steadypos.host.sql_ledger import SqlLedger
from steadypos.host.sql_ops import SqlOps
from steadypos.host.sql_rows import SqlRows
from steadypos.host.sql_run import StoreConflict, StoreError, store_error

__all__ = ["SqlStore", "StoreConflict", "StoreError", "store_error"]


class SqlStore(SqlRows, SqlLedger, SqlOps):
    """One connection, used by one thread at a time (the host's writer). Driver errors come out
    as StoreError."""
