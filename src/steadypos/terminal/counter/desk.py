"""What the counter's flows and training course need of the counter app: its language, texts,
screens and the engine's thread (`CounterApp` is one; flows and course take it as this)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from textual.screen import Screen

from steadypos.terminal.counter.bridge import Bridge
from steadypos.terminal.counter.view import ResultView
from steadypos.terminal.fleet import Api
from steadypos.terminal.flows import Terminal

T = TypeVar("T")
R = TypeVar("R")


class Desk(Protocol):
    """The counter app as its flows see it."""

    lang: str
    operator: str | None
    bridge: Bridge
    journal: Path
    training: bool
    tms: Api | None

    def t(self, key: str, **params: Any) -> str: ...

    def notice(self, key: str = "", **params: Any) -> None: ...

    def refresh_texts(self) -> None: ...

    async def push_screen_wait(self, screen: Screen[R]) -> R: ...

    async def engine(self, command: Callable[[Terminal], T]) -> T | None: ...

    async def show_result(self, view: ResultView, receipt: str = "") -> None: ...
