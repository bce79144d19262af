"""Group commit: one thread owns the store, runs waiting requests in one transaction (a savepoint
each) and releases their responses only after the single commit. Durable before visible, without
one fsync per sale."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from steadypos.host.service import HostService
from steadypos.protocol.codec import Message

log = logging.getLogger("steadypos.host")

_STOP = object()


class GroupWriter:
    def __init__(self, service_factory: Callable[[], HostService], max_group: int = 256) -> None:
        self._factory = service_factory
        self._queue: queue.Queue[object] = queue.Queue()
        self.max_group = max_group
        self._thread = threading.Thread(target=self._run, name="host-writer", daemon=True)
        self._ready = threading.Event()
        self.commits = 0
        self.requests = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def submit(self, msg: Message) -> Future[Message | None]:
        fut: Future[Message | None] = Future()
        self._queue.put((msg, fut))
        return fut

    def _run(self) -> None:
        service = self._factory()
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                group = [first]
                while len(group) < self.max_group:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        self._queue.put(_STOP)
                        break
                    group.append(nxt)
                self._process(service, group)  # type: ignore[arg-type]
        finally:
            service.store.close()

    def _process(self, service: HostService,
                 group: list[tuple[Message, Future[Message | None]]]) -> None:
        store = service.store
        results: list[Message | None] = []
        try:
            store.begin()
            for i, (msg, _) in enumerate(group):
                sp = f"r{i}"
                store.savepoint(sp)
                try:
                    results.append(service.handle(msg))
                except Exception:
                    log.exception("request failed; answered 96, nothing kept")
                    store.rollback_to(sp)
                    results.append(service.system_error(msg))
                store.release(sp)
            store.commit()
        except Exception:
            # Nothing of this group is durable, so nothing of it may be seen: close instead.
            log.exception("commit failed; %d requests dropped unanswered", len(group))
            store.rollback()
            results = [None] * len(group)
        self.commits += 1
        self.requests += len(group)
        for (_, fut), resp in zip(group, results, strict=True):
            fut.set_result(resp)
