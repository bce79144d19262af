"""Opening a host: its store, secrets, service, group writer and server, in one place."""

from __future__ import annotations

from pathlib import Path

from steadypos.host import demo_data
from steadypos.host.secrets import HostSecrets, load_or_create
from steadypos.host.server import HostServer
from steadypos.host.service import HostService
from steadypos.host.sqlite_store import SqliteStore
from steadypos.host.store import Store
from steadypos.host.writer import GroupWriter


def open_store(db: str | Path, synchronous: str = "FULL") -> Store:
    return SqliteStore(db, synchronous=synchronous)


def open_secrets(db: str | Path, seed_demo: bool = False) -> HostSecrets:
    return load_or_create(db, demo_data.DEMO_ISSUER_MK if seed_demo else None)


def build(db: str | Path, bind: str = "127.0.0.1", port: int = 0, seed_demo: bool = False,
          synchronous: str = "FULL") -> HostServer:
    """A host server ready to start; its writer thread already running."""
    secrets = open_secrets(db, seed_demo)
    if seed_demo:
        store = open_store(db, synchronous)
        demo_data.seed(store, secrets)
        store.close()
    writer = GroupWriter(lambda: HostService(open_store(db, synchronous), secrets))
    writer.start()
    return HostServer(writer, bind, port)
