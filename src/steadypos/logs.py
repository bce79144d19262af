"""Logging set-up shared by every long-running command: one line per event, card data scrubbed;
the lines a group of requests logs are written with one flush (`hold`, `release`), its request
lines once the group's fate is known (`keep`, `drop_kept`, `write_kept`)."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time

from steadypos.files import make_private
from steadypos.masking import ScrubFilter, scrub

# .on: this thread's records wait for the release(); .kept: its info() lines not written yet
_batching = threading.local()


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
        return self.stamp(record.created, record.msecs)

    def stamp(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        msec = self.default_msec_format
        return msec % (self._text, msecs) if msec else self._text


# The handler setup() made and its scrub filter: info() writes to it straight while it is
# still the steadypos tree's only handler.
_direct: tuple[logging.StreamHandler, ScrubFilter, _Formatter] | None = None  # type: ignore[type-arg]


FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def setup(level: int = logging.INFO, path: str | None = None) -> None:
    if path:
        make_private(path)  # owner only, like every file the host writes (pos-link-v1.1 §7)
    handler: logging.Handler = _FileHandler(path) if path else _StreamHandler(sys.stderr)
    scrubber = ScrubFilter()
    handler.addFilter(scrubber)
    formatter = _Formatter(FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger("steadypos")
    root.handlers[:] = [handler]
    global _direct
    _direct = (handler, scrubber, formatter)  # type: ignore[assignment]
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


def keep() -> None:
    """From now until write_kept(), this thread's info() lines (a line per request) are kept
    back, formatted: the host's writer writes them once its commit has decided what they say
    (stamped then), or drops those of a run it undid."""
    _batching.kept = []


def kept() -> int:
    """How many lines are kept back: a mark for drop_kept()."""
    return len(_batching.kept)


def drop_kept(since: int = 0) -> None:
    """Forget the lines kept back after the mark `since` (what they said was undone)."""
    del _batching.kept[since:]


def write_kept(note: str = "") -> None:
    """Write the lines kept back, in order, each with `note` added; then write as they come."""
    lines, _batching.kept = _batching.kept, None
    for logger, text in lines:
        if note:
            info(logger, "%s %s", text, note)
        else:
            info(logger, "%s", text)


def info(logger: logging.Logger, msg: str, *args: object) -> None:
    """logger.info(msg, *args), for a line per request: where the line would reach only the
    handler setup() made (no filter, handler or level of anyone else on its way), it is
    formatted, scrubbed and written to that handler's stream here, the same line without a
    LogRecord, the filter and the handler's call chain. Anything else (pytest's capture, a
    filter a test added) goes through logging. Between keep() and write_kept(): kept back."""
    lines = getattr(_batching, "kept", None)
    if lines is not None:  # formatted now: a bad line fails in its request, not after the commit
        lines.append((logger, msg % args if args else msg))
        return
    handler = _straight_to(logger)
    if handler is None or _direct is None:
        logger.info(msg, *args)
        return
    created = time.time()
    text = scrub(msg % args if args else msg)
    try:  # what contextlib.suppress(OSError, ValueError) does, without its three calls a line
        with handler.lock or contextlib.nullcontext():
            # stamped under the handler's lock, as logging's own path does (the stamp caches a
            # second)
            stamp = _direct[2].stamp(created, int((created - int(created)) * 1000))
            handler.stream.write(f"{stamp} INFO {logger.name} {text}{handler.terminator}")
            if not getattr(_batching, "on", False):
                handler.stream.flush()
    except (OSError, ValueError):
        pass  # a stream that fails or was closed costs the line, as logging's emit would


def _straight_to(logger: logging.Logger) -> logging.StreamHandler | None:  # type: ignore[type-arg]
    """setup()'s handler, when an INFO line of `logger` would reach it and nothing else."""
    if _direct is None:
        return None
    handler, scrubber, _ = _direct
    tree = logger.parent
    if tree is None or tree.handlers != [handler] or tree.filters or tree.propagate or \
            logger.handlers or logger.filters or not logger.propagate or \
            handler.filters != [scrubber] or handler.level > logging.INFO or \
            handler.stream is None or not logger.isEnabledFor(logging.INFO):
        return None
    return handler
