"""The engine off the UI thread: one thread owns the terminal (its SQLite journal stays in the
thread that opened it), runs one command at a time and hands back its Outcome; what the engine
shows on the way arrives as observer events. A defect in a command is logged as the crash it is
and the terminal is opened again (recovery runs), so the screen never shows a traceback."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from steadypos.terminal.devices import Faults
from steadypos.terminal.engine import Terminal
from steadypos.terminal.journal import JournalError
from steadypos.terminal.outcome import Outcome

T = TypeVar("T")


class Listener:
    """Passes each engine event (and, from an engine that only says lines, each line) on."""

    def __init__(self, post: Callable[[Any], None]) -> None:
        self.post = post

    def notify(self, event: Any) -> None:
        self.post(event)

    def __call__(self, line: str) -> None:
        self.post(line)


class EngineError(Exception):
    """A command stopped on a defect; the terminal was opened again."""


class Bridge:
    def __init__(self, journal: Path, post: Callable[[Any], None],
                 faults: Faults | None = None,
                 opener: Callable[..., Terminal] | None = None) -> None:
        self.journal = journal
        self.listener = Listener(post)
        self.faults = faults
        self.opener = opener or Terminal.open
        self.term: Terminal | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="engine")

    def _open(self) -> Terminal:
        self.term = self.opener(self.journal, self.listener, faults=self.faults)
        return self.term

    def open(self) -> Future[Terminal]:
        """Open the terminal (it recovers: banners arrive as events)."""
        return self._pool.submit(self._open)

    def run(self, command: Callable[[Terminal], T]) -> Future[T]:
        """Run one command on the engine's thread."""
        return self._pool.submit(self._call, command)

    def _call(self, command: Callable[[Terminal], T]) -> T:
        term = self.term or self._open()
        try:
            return command(term)
        except JournalError as exc:
            # The journal could not be written: the step did not happen (as the CLI says it).
            pending = bool(term.journal.reversals())
            return Outcome("failed", f"{exc}; the terminal stopped this payment",  # type: ignore[return-value]
                           reversal_pending=pending)
        except Exception as exc:
            term.close("crash", exc)
            self.term = None
            self._open()
            raise EngineError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        def shut() -> None:
            if self.term is not None:
                self.term.close()
                self.term = None

        self._pool.submit(shut).result()
        self._pool.shutdown()
