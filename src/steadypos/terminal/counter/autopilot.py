"""Driving the counter screen by its keys, as a cashier would, for the demo's screens and the
Pilot tests: press keys, answer a pop-up, wait for the engine's thread, read what is shown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from steadypos.terminal.counter.screens import ResultScreen

if TYPE_CHECKING:
    from textual.app import App

WAIT_S = 20.0
SIZE = (110, 42)  # columns, rows: the screenshots' size


def shown(app: App[Any]) -> str:
    """Every text the active screen shows (and the main screen's, under a pop-up)."""
    screens = [app.screen] if app.screen is app.screen_stack[0] else [app.screen_stack[0],
                                                                       app.screen]
    return "\n".join(str(w.render()) for s in screens for w in s.query(Static))


async def until(pilot: Pilot[Any], ready: Callable[[], bool], what: str) -> None:
    """Wait until `ready()` (the engine's thread answers through the message queue)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not ready():
        if loop.time() >= deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def answer(pilot: Pilot[Any], value: str) -> None:
    """Key a value into the pop-up's input and press Enter."""
    app = pilot.app
    await until(pilot, lambda: bool(app.screen.query(Input)), "an input")
    app.screen.query_one(Input).value = value
    await pilot.press("enter")


async def result(pilot: Pilot[Any]) -> str:
    """Wait for the result screen; its text."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ResultScreen), "the result screen")
    await pilot.pause()
    return shown(app)


async def login(pilot: Pilot[Any], operator: str = "01") -> None:
    await pilot.press("l")
    await answer(pilot, operator)


async def sale(pilot: Pilot[Any], amount: str, method: str, card: str,
               pin: str | None) -> str:
    """Key the amount, pick the method by its key, give the card and the PIN; the result."""
    await pilot.press(*amount, "enter")
    await pilot.press(method)
    await answer(pilot, card)
    if pin is not None:
        await answer(pilot, pin)
    return await result(pilot)
