"""Driving the counter screen in tests: the keys and reads of counter/autopilot.py, plus
screenshots and a run of the app under Textual's Pilot."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from steadypos.terminal.counter.app import CounterApp
from steadypos.terminal.counter.autopilot import (  # noqa: F401 (the tests' helpers)
    SIZE,
    answer,
    login,
    result,
    sale,
    shown,
    until,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def shot(app: CounterApp, name: str, tmp: Path) -> Path:
    """An SVG screenshot of the screen: into docs/ with STEADYPOS_SCREENSHOTS=1 (for the README),
    into the test's folder otherwise."""
    folder = DOCS if os.environ.get("STEADYPOS_SCREENSHOTS") == "1" else tmp
    return Path(app.save_screenshot(filename=f"counter-{name}.svg", path=str(folder)))


def drive(app: CounterApp, script: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.tid != "?", "the terminal to open")
            await script(pilot)

    asyncio.run(run())
