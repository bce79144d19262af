"""Alembic migrations of the TMS's tables, run by `steadypos.tms.db.migrate`."""
