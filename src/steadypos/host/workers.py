"""`steadypos host --workers K`: K host processes on one PostgreSQL, each accepting on a listening
socket of its own on the same port (SO_REUSEPORT), so that the kernel spreads the connections
over them: on one socket shared by all, whichever worker woke first took a burst of connections
(all 32 made at once, in 2 of 8 tries) and served them alone. Each worker has its own group
writer and its own balance rows; a worker that dies is started again (same number), after a
delay that grows while it keeps dying young; SIGTERM stops them all."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from steadypos.host import demo_data
from steadypos.host.app import open_secrets
from steadypos.host.secrets import HostSecrets
from steadypos.host.server import HostServer, run, run_until_signalled
from steadypos.host.service import HostService
from steadypos.host.settings import HostSettings
from steadypos.host.store import StoreUrl, open_store
from steadypos.host.writer import GroupWriter
from steadypos.sockets import family_of, tcp_socket

log = logging.getLogger("steadypos.host")
BACKLOG = 1024
STEADY = 10.0  # seconds a worker runs before its end counts as an accident, not a pattern
FIRST_DELAY = 0.5  # seconds before a worker that died young twice starts again; then doubled
MAX_DELAY = 30.0


def _worker(number: int, address: tuple[str, int], url: StoreUrl, secrets: HostSecrets,
            settings: HostSettings, ready: int | None) -> None:
    """One worker process's life: open its store, then listen (the kernel hands a listening
    socket its share of new connections at once, so not before it can serve them), say so on
    `ready` (a pipe's end, at the first start), and serve until SIGTERM."""
    clock = settings.clock()
    writer = GroupWriter(lambda: HostService(open_store(url, worker=number), secrets, clock))
    writer.start()
    try:
        sock = _listen(address)
        if ready is not None:
            os.write(ready, b"+")
            os.close(ready)
        run(run_until_signalled([HostServer(writer, sock=sock)], lambda *_: None))
    finally:
        writer.stop()


def _listen(address: tuple[str, int]) -> socket.socket:
    """A worker's own listening socket on the port the supervisor holds."""
    sock = socket.create_server(address, family=family_of(address[0]), backlog=BACKLOG,
                                reuse_port=True)
    sock.setblocking(False)
    return sock


def _hold(bind: str, port: int) -> socket.socket:
    """The supervisor's hold on the port (a free one for 0) while workers come and go: bound with
    SO_REUSEPORT but never listening, so it is handed no connection. A plain bind first, which
    fails where anything listens on the port: SO_REUSEPORT alone would let a second host of the
    same user join this one's port and take a share of its terminals."""
    with tcp_socket(family_of(bind)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((bind, port))
        port = probe.getsockname()[1]
    sock = tcp_socket(family_of(bind))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((bind, port))
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class _Spec:
    """What every worker is started with: the port the supervisor holds (`hold`, which a worker
    closes: only the supervisor keeps it), the store and the keys."""

    hold: socket.socket
    url: StoreUrl
    secrets: HostSecrets
    settings: HostSettings

    @property
    def address(self) -> tuple[str, int]:
        return self.hold.getsockname()[:2]  # type: ignore[no-any-return]


def _fork(number: int, spec: _Spec, ready: tuple[int, int] | None) -> int:
    """Start worker `number`; at the first start `ready` is a pipe (read, write) on which it says
    once that it listens."""
    address = spec.address
    pid = os.fork()
    if pid != 0:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        spec.hold.close()
        if ready is not None:
            os.close(ready[0])
        _worker(number, address, spec.url, spec.secrets, spec.settings,
                None if ready is None else ready[1])
    except BaseException:
        log.exception("host worker %d failed", number)
        code = 1
    finally:
        os._exit(code)


def _listening(fd: int, workers: int) -> int:
    """How many workers said they listen before every one had said so or ended (a worker that
    fails to open its store or to listen ends without saying it)."""
    said = 0
    while said < workers and (got := os.read(fd, workers - said)):
        said += len(got)
    return said


@dataclass
class _Restarts:
    """When a worker that ended starts again: at once after a run of STEADY seconds or more, or
    the first time it ends sooner; after FIRST_DELAY, then twice as long each time (up to
    MAX_DELAY), while it keeps ending sooner, so that a worker that cannot serve is not forked in
    a tight loop."""

    started: dict[int, float] = field(default_factory=dict)  # number -> when it last started
    delay: dict[int, float] = field(default_factory=dict)  # number -> its last delay
    due: dict[int, float] = field(default_factory=dict)  # number -> when it starts again

    def start(self, number: int) -> None:
        self.started[number] = time.monotonic()
        self.due.pop(number, None)

    def ended(self, number: int) -> float:
        """The delay before `number` starts again (0: at once), from now."""
        now = time.monotonic()
        if now - self.started.get(number, now) >= STEADY:
            self.delay.pop(number, None)
            wait = 0.0
        else:  # the first time at once too: one kill costs no wait
            last = self.delay.get(number)
            wait = 0.0 if last is None else min(MAX_DELAY, max(FIRST_DELAY, last * 2))
            self.delay[number] = wait
        self.due[number] = now + wait
        return wait

    def ripe(self) -> list[int]:
        now = time.monotonic()
        return [n for n, when in self.due.items() if when <= now]

    def timeout(self) -> float | None:
        """Seconds until the next restart is due; None when none is."""
        return max(0.0, min(self.due.values()) - time.monotonic()) if self.due else None


def _reap(timeout: float | None) -> tuple[int, int]:
    """os.wait(), or within `timeout` seconds: (0, 0) when no worker ended by then."""
    if timeout is None:
        return os.wait()
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            found = (0, 0)  # none running: all of them wait for their restart
        left = deadline - time.monotonic()
        if found[0] != 0 or left <= 0:
            return found
        time.sleep(min(0.05, left))


def serve(url: StoreUrl, keys: Path, bind: str, port: int, workers: int, seed_demo: bool,
          settings: HostSettings, ready: Callable[[str, int], None]) -> None:
    """Migrate (and seed) once, hold the port, fork the workers, and once all of them listen say
    `ready`; supervise them until SIGTERM or SIGINT. Raises StoreError or OSError before any
    worker starts, and OSError when one ends before it listens (the others stopped first)."""
    secrets = open_secrets(keys, seed_demo)
    store = open_store(url)  # the schema's migrations run here, once, before any worker
    try:
        if seed_demo:
            demo_data.seed(store, secrets)
    finally:
        store.close()
    spec = _Spec(_hold(bind, port), url, secrets, settings)
    address = spec.address
    pipe = os.pipe()
    restarts = _Restarts()
    running = {_fork(n, spec, pipe): n for n in range(workers)}
    for n in range(workers):
        restarts.start(n)
    os.close(pipe[1])
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in running:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # a stop asked for while the workers start is no failure, though not all of them said so
    failed = _listening(pipe[0], workers) < workers and not stopping
    os.close(pipe[0])
    if failed:
        stop()
    elif not stopping:
        ready(*address)
    while running or (restarts.due and not stopping):
        for due in [] if stopping else restarts.ripe():
            running[_fork(due, spec, None)] = due
            restarts.start(due)
        pid, status = _reap(None if stopping else restarts.timeout())
        number = running.pop(pid, None)
        if number is None or stopping:
            continue
        wait = restarts.ended(number)
        log.warning("host worker %d ended (status %d); starting it again in %.1f s", number,
                    status, wait)
    spec.hold.close()
    if failed:
        raise OSError(f"a host worker ended before it listened on {address[0]}:{address[1]} "
                      "(its error is in the log)")
