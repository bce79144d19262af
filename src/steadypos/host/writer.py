"""Group commit: one thread owns the store, runs waiting requests in one transaction and releases
their responses only after the single commit. Durable before visible, without one fsync per sale.
A group whose request fails runs again with a savepoint each, undoing only that request; a
request's log line is written once, when the group's commit decided what it says."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from steadypos import logs
from steadypos.host.metrics import HostMetrics
from steadypos.host.service import HostService
from steadypos.host.store import StoreConflict, StoreError
from steadypos.protocol.codec import Message

log = logging.getLogger("steadypos.host")

Waiter = Future[Message | None] | asyncio.Future[Message | None]
# What the writer thread does with a request: answer it (the default), or refuse it outright.
Action = Callable[[HostService, Message], "Message | None"]
Item = tuple[Message, Waiter, Action]
Batch = list[Item]  # what one put hands over; None in the queue: stop
# A request that met another host process's change (same key, deadlock) runs again this often:
# by then it sees what the other committed (a repeat, a tombstone, a lower balance).
CONFLICT_RETRIES = 3


def handle(service: HostService, msg: Message) -> Message | None:
    return service.handle(msg)


class GroupWriter:
    def __init__(self, service_factory: Callable[[], HostService], max_group: int = 256,
                 metrics: HostMetrics | None = None) -> None:
        self._factory = service_factory
        self.metrics = metrics
        # SimpleQueue: put and get in C, where Queue's run a Condition's Python code (a notify,
        # a wait) at each hand-over; FIFO and unbounded is all this needs.
        self._queue: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        # Per event loop: the requests of its current pass, handed over at the pass's end.
        self._passes: dict[asyncio.AbstractEventLoop, Batch] = {}
        self.max_group = max_group
        self._thread = threading.Thread(target=self._run, name="host-writer", daemon=True)
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self.commits = 0
        self.requests = 0

    def start(self) -> None:
        """Start the thread; raises what opening the service raised (a bad database file)."""
        self._thread.start()
        self._ready.wait()
        if self._failed is not None:
            self._thread.join()
            raise self._failed

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def submit(self, msg: Message, action: Action = handle) -> Future[Message | None]:
        """From any thread: a future of the response (None: close without answering)."""
        fut: Future[Message | None] = Future()
        self._queue.put([(msg, fut, action)])
        return fut

    async def request(self, msg: Message, action: Action = handle) -> Message | None:
        """From an event loop: the response, handed back with one wake-up of the loop per group
        rather than one per request. The requests of one pass of the loop go to the writer in
        one hand-over, so the thread wakes once per pass, not once per request."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Message | None] = loop.create_future()
        batch = self._passes.get(loop)
        if batch is None:
            batch = self._passes[loop] = []
            loop.call_soon(self._hand_over, loop)
        batch.append((msg, fut, action))
        return await fut

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue.put(self._passes.pop(loop))

    def _run(self) -> None:
        try:
            service = self._factory()
        except BaseException as exc:
            self._failed = exc
            return
        finally:
            self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = list(first)
                while len(group) < self.max_group:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)
                        break
                    group.extend(nxt)
                live = [item for item in group if _still_wanted(item[1])]
                if live:
                    self._process(service, live)
        finally:
            service.store.close()

    def _process(self, service: HostService, group: list[Item]) -> None:
        store = service.store
        started = time.perf_counter()
        results: list[Message | None] = []
        logs.hold()  # the group's log lines go out in one write, before its answers
        logs.keep()  # its request lines, once: as committed, or as dropped
        # a commit that raised may still have reached the database (a connection lost after
        # COMMIT went out): the line says it failed, not that nothing was kept
        note = "(commit failed, closed unanswered)"
        try:
            results = self._run_group(service, group)
            note = ""
        except Exception:
            # Nothing of this group is known durable, so nothing of it may be seen: close.
            log.exception("commit failed; %d requests dropped unanswered", len(group))
            with contextlib.suppress(StoreError):
                store.rollback()
            results = [None] * len(group)
        finally:
            logs.write_kept(note)
        self.commits += 1
        self.requests += len(group)
        if self.metrics is not None:
            self.metrics.committed([(msg, resp) for (msg, _, _), resp in zip(group, results,
                                                                             strict=True)],
                                   time.perf_counter() - started)
        logs.release()
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Message | None],
                                                            Message | None]]] = {}
        for (_, fut, _), resp in zip(group, results, strict=True):
            if isinstance(fut, asyncio.Future):
                by_loop.setdefault(fut.get_loop(), []).append((fut, resp))
            else:
                fut.set_result(resp)
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # loop closed at shutdown: nobody waits
                loop.call_soon_threadsafe(_deliver, answers)


    def _run_group(self, service: HostService, group: list[Item]) -> list[Message | None]:
        """The group's answers, committed. First without a savepoint a request (statements
        saved, and no PostgreSQL subtransactions); should any request fail, all of it is rolled
        back and run again with a savepoint each, so that only that request is undone."""
        store = service.store
        store.begin()
        try:
            with store.pipelined():
                results = [action(service, msg) for msg, _, action in group]
        except Exception:  # the careful run below says what it was
            store.rollback()
            logs.drop_kept()  # the lines of the run undone: the careful run logs its own
            store.begin()
            results = []
            for i, (msg, _, action) in enumerate(group):
                sp = f"r{i}"
                store.savepoint(sp)
                results.append(self._one(service, sp, msg, action))
                store.release(sp)
        store.commit()
        return results

    @staticmethod
    def _one(service: HostService, sp: str, msg: Message, action: Action) -> Message | None:
        """One request inside savepoint `sp`: its answer, or 96 with nothing of it kept (nor
        the log lines of the attempts undone). A database that went away fails the savepoint's
        rollback, and with it the group."""
        mark = logs.kept()
        who = f"{msg.get(41) or '-'} {msg.mti} stan={msg.get(11) or '-'}"
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return action(service, msg)
            except StoreConflict as exc:
                service.store.rollback_to(sp)
                logs.drop_kept(mark)
                if attempt == CONFLICT_RETRIES:
                    log.warning("%s kept meeting other processes' changes (%s); answered 96, "
                                "nothing kept", who, exc)
            except Exception:
                log.exception("%s failed; answered 96, nothing kept", who)
                service.store.rollback_to(sp)
                logs.drop_kept(mark)
                break
        return service.system_error(msg)


def _still_wanted(fut: Waiter) -> bool:
    """False for a waiter cancelled before its request ran (a connection cancelled at shutdown):
    skip the request rather than move money nobody will hear of. A concurrent future that is
    running can no longer be cancelled, so its set_result after the commit cannot fail."""
    if isinstance(fut, asyncio.Future):
        return not fut.cancelled()
    return fut.set_running_or_notify_cancel()


def _deliver(answers: list[tuple[asyncio.Future[Message | None], Message | None]]) -> None:
    for fut, resp in answers:
        if not fut.done():  # cancelled meanwhile
            fut.set_result(resp)
