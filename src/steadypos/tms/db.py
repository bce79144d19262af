"""The TMS's database: a URL as `steadypos host --db` takes it, an engine, sessions, and the
Alembic migrations that ship in this package (version table `tms_alembic_version`, so that the
host's own migrations can live in the same database)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

VERSION_TABLE = "tms_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class DatabaseUrl:
    """`host.db`, `sqlite:///host.db` or `postgresql://...`: one database for host and TMS."""

    sqlalchemy_url: str
    sqlite_path: Path | None  # the file, for SQLite; the host's store opens it by path

    @classmethod
    def parse(cls, text: str) -> DatabaseUrl:
        if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            rest = text.split("://", 1)[1]
            return cls(f"postgresql+psycopg://{rest}", None)
        path = Path(text[len("sqlite:///"):] if text.startswith("sqlite:///") else text)
        if "://" in text and not text.startswith("sqlite:///"):
            raise ValueError(f"unsupported database URL {text!r}: a SQLite path, sqlite:///PATH "
                             "or postgresql://...")
        return cls(f"sqlite:///{path}", path)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_path is not None

    @property
    def host_url(self) -> str:
        """The same database as the host's store opens it (`steadypos host --db`)."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return "postgresql://" + self.sqlalchemy_url.split("://", 1)[1]

    def default_ca_dir(self) -> Path:
        """The CA lives beside a SQLite file; for PostgreSQL, in ./tms-ca unless told."""
        if self.sqlite_path is not None:
            return self.sqlite_path.with_name(self.sqlite_path.name + ".tms-ca")
        return Path("tms-ca")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver must not open transactions itself: we begin each one IMMEDIATE (below), so a
    # request that reads and then writes never meets a stale snapshot after the host's writer
    # (another connection to the same file) committed in between.
    dbapi_conn.isolation_level = None
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                   "busy_timeout=10000"):
        dbapi_conn.execute(f"PRAGMA {pragma}")


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: DatabaseUrl, **kw: Any) -> Engine:
    if url.is_sqlite:
        engine = create_engine(url.sqlalchemy_url, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url.sqlalchemy_url, pool_pre_ping=True, **kw)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the TMS's tables to the newest revision (a no-op when they are there)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
