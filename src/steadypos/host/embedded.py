"""A host inside this process, on its own event loop thread: for the demo, tests and tools."""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path

from steadypos.host import app
from steadypos.host.server import HostServer
from steadypos.host.settings import default_keys_path


class EmbeddedHost:
    """A plain listener on `port`, and with `tls` (tls.server_context) a TLS listener too,
    sharing the one writer; `tls_port` is 0 without it. `keys`: the key file, beside a SQLite
    `db` unless given."""

    def __init__(self, db: str | Path, seed_demo: bool = True, port: int = 0,
                 tls: ssl.SSLContext | None = None, tls_port: int = 0,
                 keys: Path | None = None) -> None:
        self.db = db if "://" in str(db) else Path(db)
        keys = keys or default_keys_path(db)
        assert keys is not None, "a database that is no file needs its key file named"
        self.keys = keys
        self.server: HostServer = app.build(self.db, keys, port=port, seed_demo=seed_demo)
        self.tls_server = HostServer(self.server.writer, self.server.bind, tls_port,
                                     ssl_context=tls) if tls is not None else None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="embedded-host",
                                        daemon=True)
        self.port = 0
        self.tls_port = 0

    def _listeners(self) -> list[HostServer]:
        return [self.server] + ([self.tls_server] if self.tls_server is not None else [])

    def start(self) -> EmbeddedHost:
        async def start_all() -> list[tuple[str, int]]:
            return [await s.start() for s in self._listeners()]

        self._thread.start()
        addresses = asyncio.run_coroutine_threadsafe(start_all(), self._loop).result()
        self.port = addresses[0][1]
        self.tls_port = addresses[-1][1] if self.tls_server is not None else 0
        return self

    def stop(self) -> None:
        async def stop_all() -> None:
            await asyncio.gather(*(s.stop() for s in self._listeners()))

        asyncio.run_coroutine_threadsafe(stop_all(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self.server.writer.stop()

    def __enter__(self) -> EmbeddedHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
