"""A local TCP listener on a daemon thread, for the tests' stand-in servers: it hands each
accepted connection to a callback until its socket is closed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


def listen(on_conn: Callable[[socket.socket], None]) -> socket.socket:
    """A server socket on 127.0.0.1 (a free port) whose connections go to `on_conn`, in order."""
    sock = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:  # closed: the stand-in server is over
                return
            on_conn(conn)

    threading.Thread(target=accept, daemon=True).start()
    return sock
