"""`steadypos host --workers K`: K host processes on one PostgreSQL, accepting on one listening
socket that the supervisor opens before it forks them. Each worker has its own group writer and
its own balance rows; a worker that dies is started again (same number), SIGTERM stops them all."""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

from steadypos.host import demo_data
from steadypos.host.app import open_secrets
from steadypos.host.secrets import HostSecrets
from steadypos.host.server import HostServer, run, run_until_signalled
from steadypos.host.service import HostService
from steadypos.host.settings import HostSettings
from steadypos.host.store import StoreUrl, open_store
from steadypos.host.writer import GroupWriter

log = logging.getLogger("steadypos.host")
BACKLOG = 1024


def _worker(number: int, sock: socket.socket, url: StoreUrl, secrets: HostSecrets,
            settings: HostSettings) -> None:
    """One worker process's life: serve on the shared socket until SIGTERM."""
    clock = settings.clock()
    writer = GroupWriter(lambda: HostService(open_store(url, worker=number), secrets, clock))
    writer.start()
    try:
        run(run_until_signalled([HostServer(writer, sock=sock)], lambda *_: None),
            store_waits=not url.is_sqlite)
    finally:
        writer.stop()


def _fork(number: int, sock: socket.socket, url: StoreUrl, secrets: HostSecrets,
          settings: HostSettings) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _worker(number, sock, url, secrets, settings)
    except BaseException:
        log.exception("host worker %d failed", number)
        code = 1
    finally:
        os._exit(code)


def serve(url: StoreUrl, keys: Path, bind: str, port: int, workers: int, seed_demo: bool,
          settings: HostSettings, ready: Callable[[str, int], None]) -> None:
    """Migrate (and seed) once, listen, fork the workers, and supervise them until SIGTERM or
    SIGINT. Raises StoreError or OSError before any worker starts."""
    secrets = open_secrets(keys, seed_demo)
    store = open_store(url)  # the schema's migrations run here, once, before any worker
    try:
        if seed_demo:
            demo_data.seed(store, secrets)
    finally:
        store.close()
    sock = socket.create_server((bind, port), backlog=BACKLOG)
    sock.setblocking(False)
    running = {_fork(n, sock, url, secrets, settings): n for n in range(workers)}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in running:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, bound = sock.getsockname()[:2]
    ready(host, bound)
    while running:
        pid, status = os.wait()
        number = running.pop(pid, None)
        if number is None or stopping:
            continue
        log.warning("host worker %d ended (status %d); starting it again", number, status)
        running[_fork(number, sock, url, secrets, settings)] = number
    sock.close()
