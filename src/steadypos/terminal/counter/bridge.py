"""The engine off the UI thread: one thread owns the terminal (its SQLite journal stays in the
thread that opened it), runs one command at a time and hands back its Outcome; what the engine
shows on the way arrives as observer events. A defect in a command is logged as the crash it is
and the terminal is opened again (recovery runs), so the screen never shows a traceback."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from steadypos.protocol.errors import ProtocolError
from steadypos.terminal.flows import Terminal
from steadypos.terminal.observer import TerminalEvent
from steadypos.terminal.settings import TerminalSettings

T = TypeVar("T")
E = TypeVar("E")


class Listener:
    """The engine's observer: keeps the last event of each kind of the command running (read on
    the engine's thread, so the result screen never races the message queue) and passes each
    event on to the app."""

    def __init__(self, post: Callable[[TerminalEvent], None]) -> None:
        self.post = post
        self.seen: dict[type, TerminalEvent] = {}

    def notify(self, event: TerminalEvent) -> None:
        self.seen[type(event)] = event
        self.post(event)

    def last(self, kind: type[E]) -> E | None:
        event = self.seen.get(kind)
        return event if isinstance(event, kind) else None


class EngineError(Exception):
    """A command stopped on a defect or a journal write that failed; the terminal was opened
    again (recovery told what became of the payment)."""


class Refused(Exception):
    """The engine refused the input (card data, PIN, STAN) before writing anything."""


class Bridge:
    def __init__(self, journal: Path, post: Callable[[TerminalEvent], None],
                 settings: TerminalSettings | None = None,
                 opener: Callable[..., Terminal] | None = None) -> None:
        self.journal = journal
        self.listener = Listener(post)
        self.settings = settings
        self.opener = opener or Terminal.open
        self.term: Terminal | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="engine")

    def _open(self) -> Terminal:
        self.term = self.opener(self.journal, self.listener, self.settings)
        return self.term

    def open(self) -> Future[dict[str, str]]:
        """Open the terminal (it recovers: banners arrive as events); its config."""
        return self._pool.submit(lambda: self._open().cfg)

    def run(self, command: Callable[[Terminal], T]) -> Future[T]:
        """Run one command on the engine's thread."""
        return self._pool.submit(self._call, command)

    def _call(self, command: Callable[[Terminal], T]) -> T:
        term = self.term or self._open()
        self.listener.seen.clear()
        try:
            return command(term)
        except (ValueError, ProtocolError) as exc:
            raise Refused(str(exc)) from exc  # checked before anything was written
        except Exception as exc:
            # A defect or a journal that cannot be written: the session ends as the crash it
            # is (the event log has it) and the terminal opens again, recovering what it left.
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
