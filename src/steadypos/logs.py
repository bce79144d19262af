"""Logging set-up shared by every long-running command: one line per event, card data scrubbed;
the lines a group of requests logs are written with one flush (`hold`, `release`)."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time

from steadypos.files import make_private
from steadypos.masking import ScrubFilter

_batching = threading.local()  # .on: this thread's records wait for the release()


class _GroupFlush:
    """A stream handler's flush, held back while its thread is between hold() and release()."""

    def flush(self) -> None:
        if not getattr(_batching, "on", False):
            super().flush()  # type: ignore[misc]


class _StreamHandler(_GroupFlush, logging.StreamHandler):  # type: ignore[type-arg]
    pass


class _FileHandler(_GroupFlush, logging.FileHandler):
    pass


class _Formatter(logging.Formatter):
    """The standard format, the time part of `asctime` computed once per second."""

    _second = -1
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        msec = self.default_msec_format
        return msec % (self._text, record.msecs) if msec else self._text


def setup(level: int = logging.INFO, path: str | None = None) -> None:
    if path:
        make_private(path)  # owner only, like every file the host writes (pos-link-v1.1 §7)
    handler: logging.Handler = _FileHandler(path) if path else _StreamHandler(sys.stderr)
    handler.addFilter(ScrubFilter())
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("steadypos")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The format names no thread, process or source line: do not look them up per record
    # (the logging HOWTO's "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[assignment]


def hold() -> None:
    """Hold back the flush of the lines this thread logs until release() (the host's writer:
    a group's lines in one write, before the group's answers go out)."""
    _batching.on = True


def release() -> None:
    """Flush what this thread logged since hold(). Never raises: a stream that fails or was
    closed (a test's captured stderr) costs log lines, as logging's own emit would, not the
    caller (the writer thread, whose answers follow)."""
    _batching.on = False
    for handler in logging.getLogger("steadypos").handlers:
        with contextlib.suppress(OSError, ValueError):
            handler.flush()
