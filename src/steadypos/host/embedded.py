"""A host inside this process, on its own event loop thread: for the demo, tests and tools."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from steadypos.host import app
from steadypos.host.server import HostServer


class EmbeddedHost:
    def __init__(self, db: str | Path, seed_demo: bool = True, port: int = 0) -> None:
        self.db = Path(db)
        self.server: HostServer = app.build(self.db, port=port, seed_demo=seed_demo)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="embedded-host",
                                        daemon=True)
        self.port = 0

    def start(self) -> EmbeddedHost:
        self._thread.start()
        _, self.port = asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result()
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self.server.writer.stop()

    def __enter__(self) -> EmbeddedHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
