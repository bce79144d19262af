"""The migrations shipped in the package: they build exactly the models' tables, keep their
version in `tms_alembic_version` (the host's own migrations can share the database), run again
as a no-op, and leave the host's tables in the same database alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from tmskit import Tms

from steadypos.host.store import open_store
from steadypos.tms import db
from steadypos.tms.models import Base


def _head() -> str:
    """The one head of the shipped revisions (two heads would make `upgrade head` fail)."""
    (head,) = ScriptDirectory(str(db.MIGRATIONS)).get_heads()
    return head


def test_the_migrations_build_the_models_tables(tms: Tms) -> None:
    with tms.ctx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        names = set(inspect(conn).get_table_names())
        version = conn.execute(text(f"SELECT version_num FROM {db.VERSION_TABLE}")).scalar()
    assert [d[0] for d in diff] in ([], ["remove_table"])  # at most our version table
    assert {t for t in names if t.startswith("tms_")} == set(Base.metadata.tables) | {
        db.VERSION_TABLE}
    assert "alembic_version" not in names and version == _head()
    db.migrate(tms.ctx.engine)  # again: nothing to do
    with tms.ctx.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {db.VERSION_TABLE}")).scalar() == 1


def test_host_and_tms_share_one_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "host.db"
    open_store(path).close()  # the host first, as `steadypos host` would
    engine = db.make_engine(db.DatabaseUrl.parse(f"sqlite:///{path}"))
    db.migrate(engine)
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
    engine.dispose()
    assert {"terminals", "txns", "tms_terminals", "tms_users"} <= names
    store = open_store(path)  # and the host opens it again untroubled
    assert store.terminals() == []
    store.close()


def test_database_urls_as_the_host_takes_them() -> None:
    assert db.DatabaseUrl.parse("h.db").sqlite_path == Path("h.db")
    assert db.DatabaseUrl.parse("sqlite:///var/h.db").sqlite_path == Path("var/h.db")
    pg = db.DatabaseUrl.parse("postgresql://127.0.0.1:5432/test")
    assert pg.sqlalchemy_url == "postgresql+psycopg://127.0.0.1:5432/test" and not pg.is_sqlite
    assert db.DatabaseUrl.parse("h.db").default_ca_dir() == Path("h.db.tms-ca")
    with pytest.raises(ValueError, match="unsupported database URL"):
        db.DatabaseUrl.parse("mysql://x/y")
