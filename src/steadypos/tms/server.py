"""Serving the TMS with uvicorn: our own listening socket (so port 0 works), one ready line once
it accepts requests, and uvicorn's clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from steadypos.sockets import family_of


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn re-raises a captured SIGINT/SIGTERM once it has shut down, which makes the
        # process die of the signal; a stop we asked for is a clean exit (status 0).
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def listen(bind: str, port: int) -> socket.socket:
    sock = socket.socket(family_of(bind), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(app: FastAPI, sock: socket.socket, ready: Callable[[str, int], None],
          **config: Any) -> None:
    """Run until SIGINT/SIGTERM; `ready(host, port)` once requests are accepted."""
    host, port = sock.getsockname()[:2]
    cfg = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                         timeout_graceful_shutdown=10, **config)
    _Server(cfg, lambda: ready(host, port)).run(sockets=[sock])
