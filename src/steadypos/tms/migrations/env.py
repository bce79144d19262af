"""Alembic's environment: runs on the connection `db.migrate` hands over, with our own version
table so that the host's migrations can share the database."""

from __future__ import annotations

from alembic import context

from steadypos.tms import fleet_models, ops_models  # noqa: F401 - tables of the metadata
from steadypos.tms.db import VERSION_TABLE
from steadypos.tms.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
