"""Opening a host: its store, secrets, service, group writer and server, in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from steadypos.host import demo_data, registry
from steadypos.host.secrets import HostSecrets, open_keys
from steadypos.host.server import HostServer
from steadypos.host.service import HostService
from steadypos.host.settings import HostSettings
from steadypos.host.store import StoreUrl, open_store
from steadypos.host.writer import GroupWriter

log = logging.getLogger("steadypos.host")


def open_secrets(keys: str | Path, seed_demo: bool = False) -> HostSecrets:
    """The host's key file; a new one under --seed-demo takes the demo cards' issuer key."""
    return open_keys(keys, demo_data.DEMO_ISSUER_MK if seed_demo else None)


# Test only: `STEADYPOS_TEST_CLOCK_AT=23:59:58` gives `steadypos host` its --clock-at, so that a
# chaos run can take the host's clock across midnight (read at the command line only).
CLOCK_ENV = "STEADYPOS_TEST_CLOCK_AT"


def build(db: str | Path | StoreUrl, keys: str | Path, bind: str = "127.0.0.1", port: int = 0,
          seed_demo: bool = False, synchronous: str = "FULL",
          service: Callable[..., HostService] = HostService,
          settings: HostSettings = HostSettings()) -> HostServer:
    """A host server ready to start; its writer thread already running. `service` makes the
    service from (store, secrets, clock): the conformance mode passes its own."""
    url = db if isinstance(db, StoreUrl) else StoreUrl.parse(db)
    secrets = open_secrets(keys, seed_demo)
    store = open_store(url, synchronous)
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
    writer = GroupWriter(lambda: service(open_store(url, synchronous), secrets, clock))
    writer.start()
    return HostServer(writer, bind, port)
