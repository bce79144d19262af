"""The counter screens of an interrupted payment, for `make demo` and the README: the result
while the host's answer is lost (the payment is being reversed), and, at the next start, the
notice that says first whether the customer was charged and holds back the same amount until the
cashier confirms it; each in Chinese and English, as text and as an SVG screenshot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from steadypos import i18n
from steadypos.terminal.counter.app import CounterApp
from steadypos.terminal.counter.autopilot import SIZE, login, sale, shown, until


@dataclass(frozen=True)
class Shot:
    """One screen as the cashier saw it: its name, language, text and screenshot file."""

    name: str
    lang: str
    text: str
    svg: Path


Script = Callable[[Pilot[Any], CounterApp], Awaitable[None]]


def _run(app: CounterApp, script: Script) -> None:
    """Run the app headless under `script` (keys only, as at the counter), then let it exit."""
    failed: list[BaseException] = []

    async def pilot(p: Pilot[Any]) -> None:
        try:
            await until(p, lambda: app.tid != "?" and not app.busy, "the terminal to open")
            await script(p, app)
        except Exception as exc:  # noqa: BLE001 (raised again once the app is down)
            failed.append(exc)
        app.exit()

    asyncio.run(app.run_async(headless=True, size=SIZE, auto_pilot=pilot))
    if failed:
        raise failed[0]


async def _in_both(pilot: Pilot[Any], app: CounterApp, name: str, out: Path) -> list[Shot]:
    """The screen shown now, in each language (the language key, `g`), back to the first."""
    shots = []
    first = app.lang
    for _ in i18n.LANGUAGES:
        svg = Path(app.save_screenshot(filename=f"counter-{name}-{app.lang}.svg", path=str(out)))
        shots.append(Shot(name, app.lang, shown(app), svg))
        await pilot.press("g")
        await pilot.pause()
    assert app.lang == first
    return shots


def lost_answer(journal: Path, amount: str, track2: str, pin: str, lose: Callable[[], None],
                heal: Callable[[], None], out: Path, lang: str = "zh") -> list[Shot]:
    """A swiped sale whose answer `lose()` loses on the way back: the result screen; `heal()`
    then brings the link back."""
    shots: list[Shot] = []

    async def script(pilot: Pilot[Any], app: CounterApp) -> None:
        await login(pilot)
        lose()
        try:
            await sale(pilot, amount, "s", track2, pin)
        finally:
            heal()
        shots.extend(await _in_both(pilot, app, "lost-answer", out))
        await pilot.press("enter")

    _run(CounterApp(journal, lang), script)
    return shots


def next_start(journal: Path, amount: str, out: Path, lang: str = "zh") -> list[Shot]:
    """The counter opened after an interrupted payment: the notice, in both languages; the same
    amount keyed again (held back), then the cashier's confirmation."""
    shots: list[Shot] = []

    async def script(pilot: Pilot[Any], app: CounterApp) -> None:
        await until(pilot, lambda: bool(app.banners), "the notice")
        shots.extend(await _in_both(pilot, app, "next-start", out))
        await pilot.press(*amount, "enter")
        await pilot.pause()
        shots.extend(await _in_both(pilot, app, "same-amount", out))
        await pilot.press("escape", "enter")  # no amount + Enter: read and told the customer
        await pilot.pause()
        shots.append(Shot("confirmed", app.lang, shown(app), Path()))

    _run(CounterApp(journal, lang), script)
    return shots
