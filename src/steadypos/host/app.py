"""Opening a host: its store, secrets, service, group writer and server, in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from steadypos.host import demo_data, registry
from steadypos.host.secrets import HostSecrets, load_or_create
from steadypos.host.server import HostServer
from steadypos.host.service import HostService
from steadypos.host.settings import HostSettings
from steadypos.host.sqlite_store import SqliteStore
from steadypos.host.store import Store
from steadypos.host.writer import GroupWriter

log = logging.getLogger("steadypos.host")


def open_store(db: str | Path, synchronous: str = "FULL") -> Store:
    return SqliteStore(db, synchronous=synchronous)


def open_secrets(db: str | Path, seed_demo: bool = False) -> HostSecrets:
    return load_or_create(db, demo_data.DEMO_ISSUER_MK if seed_demo else None)


def build(db: str | Path, bind: str = "127.0.0.1", port: int = 0, seed_demo: bool = False,
          synchronous: str = "FULL",
          service: Callable[..., HostService] = HostService,
          settings: HostSettings = HostSettings()) -> HostServer:
    """A host server ready to start; its writer thread already running. `service` makes the
    service from (store, secrets, clock): the conformance mode passes its own."""
    secrets = open_secrets(db, seed_demo)
    store = open_store(db, synchronous)
    try:
        if seed_demo:
            demo_data.seed(store, secrets)
        legacy = [t.tid for t in registry.terminals(store) if t.legacy]
    finally:
        store.close()
    if legacy:
        log.warning("terminals registered as legacy, with the weak pos_ecb MAC: %s",
                    ", ".join(legacy))
    clock = settings.clock()
    writer = GroupWriter(lambda: service(open_store(db, synchronous), secrets, clock))
    writer.start()
    return HostServer(writer, bind, port)
