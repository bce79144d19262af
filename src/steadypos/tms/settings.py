"""What a TMS instance is configured with: its database, where the CA lives, the host address
that activation hands to terminals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from steadypos.tms.db import DatabaseUrl


@dataclass(frozen=True)
class Settings:
    db: DatabaseUrl
    ca_dir: Path
    link_host: str = "127.0.0.1"
    link_port: int = 5000
    tls_port: int | None = None
    tpdu: str = "6000030000"
    token_ttl: timedelta = timedelta(hours=8)
    code_ttl: timedelta = timedelta(days=30)
    txn_limit_fen: int = 5_000_000
    # Login throttle: after this many failures in a row a username waits `lockout` (per client).
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=5)
    # A running rollout is evaluated after heartbeats at most this often (and at every read).
    evaluate_every_s: float = 1.0
    # The host's key file (`steadypos host --keys`); None: beside a SQLite database, DB.keys.
    host_keys: Path | None = None

    @classmethod
    def for_db(cls, db: str, ca_dir: Path | None = None, **kw: object) -> Settings:
        url = DatabaseUrl.parse(db)
        return cls(db=url, ca_dir=ca_dir or url.default_ca_dir(), **kw)  # type: ignore[arg-type]


def parse_link(text: str) -> tuple[str, int]:
    """`HOST:PORT` as given to `--link` and `--tls-link`."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)
