"""Driving the counter screen in tests: Textual's Pilot presses keys; helpers read what the
screen shows (every Static's text) and wait for the engine's thread."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from steadypos.terminal.counter.app import CounterApp
from steadypos.terminal.counter.screens import ResultScreen

SIZE = (110, 42)
WAIT_S = 20.0
DOCS = Path(__file__).resolve().parents[2] / "docs"


def shot(app: CounterApp, name: str, tmp: Path) -> Path:
    """An SVG screenshot of the screen: into docs/ with STEADYPOS_SCREENSHOTS=1 (for the README),
    into the test's folder otherwise."""
    folder = DOCS if os.environ.get("STEADYPOS_SCREENSHOTS") == "1" else tmp
    return Path(app.save_screenshot(filename=f"counter-{name}.svg", path=str(folder)))


def shown(app: CounterApp) -> str:
    """Every text the active screen shows (and the main screen's, under a pop-up)."""
    screens = [app.screen] if app.screen is app.screen_stack[0] else [app.screen_stack[0],
                                                                       app.screen]
    return "\n".join(str(w.render()) for s in screens for w in s.query(Static))


async def until(pilot: Pilot[Any], ready: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not ready():
        assert loop.time() < deadline, f"timed out waiting for {what}"
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
    assert isinstance(app, CounterApp)
    return shown(app)


async def login(pilot: Pilot[Any], operator: str = "01") -> None:
    await pilot.press("l")
    await answer(pilot, operator)


async def sale(pilot: Pilot[Any], amount: str, method: str, card: str,
               pin: str | None) -> str:
    await pilot.press(*amount, "enter")
    await pilot.press(method)
    await answer(pilot, card)
    if pin is not None:
        await answer(pilot, pin)
    return await result(pilot)


def drive(app: CounterApp, script: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.tid != "?", "the terminal to open")
            await script(pilot)

    asyncio.run(run())
