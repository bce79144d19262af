"""The demo's counter scene: the screens a cashier sees when a payment is interrupted, the answer
lost on the way back and the terminal killed mid-sale, and what they say at the next start, in
Chinese and English (printed, and saved as SVG screenshots in the demo's folder)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel

from steadypos.demo_day import Day
from steadypos.terminal.counter import showcase

# What each screen must say, per language: the customer's money in words.
BEING_REVERSED = {"zh": "正在冲正", "en": "BEING REVERSED"}
NOT_CHARGED = {"zh": "未扣款", "en": "NOT CHARGED"}
HELD_BACK = {"zh": "请先阅读屏幕上方的提示", "en": "read the notice at the top"}
console = Console()


def _show(shots: list[showcase.Shot], *names: str) -> None:
    for s in shots:
        if s.name in names:
            console.print(Panel(s.text, title=f"counter · {s.name} · {s.lang}",
                                subtitle=s.svg.name, expand=False))


def _says(day: Day, shots: list[showcase.Shot], name: str, words: dict[str, str],
          what: str) -> None:
    for s in shots:
        if s.name == name:
            day.expect(f"{what} ({s.lang}): {words[s.lang]}", words[s.lang] in s.text)


def counter_scene(day: Day, card: dict[str, Any], balance: int) -> None:
    """T3's answer lost mid-sale, then T1 killed mid-sale: each screen in both languages, and
    the card not charged in the end. `balance`: the card's balance before."""
    out = day.root / "counter-screens"
    (out / "crash").mkdir(parents=True, exist_ok=True)
    from steadypos.chaos.proxy import Toxic

    lost = showcase.lost_answer(
        day.journal(2), "18.00", card["track2"], card["pin"],
        lambda: day.proxy.add(Toxic("drop_response", direction="downstream", count=1,
                                    name="lost")),
        day.proxy.clear, out)
    _show(lost, "lost-answer")
    _says(day, lost, "lost-answer", BEING_REVERSED, "the answer lost: the screen says")
    after = showcase.next_start(day.journal(2), "18.00", out)
    _show(after, "next-start", "same-amount")
    _says(day, after, "next-start", NOT_CHARGED, "at the next start, first of all")
    _says(day, after, "same-amount", HELD_BACK, "the same amount is held back")

    code, _ = day.swipe(1, "16.00", card, bench=("--crash-at", "request_sent"))
    day.expect("T1 killed mid-sale (SIGKILL after sending)", code == -9)
    crashed = showcase.next_start(day.journal(1), "16.00", out / "crash")
    _show(crashed, "next-start")
    _says(day, crashed, "next-start", NOT_CHARGED, "the counter after the kill says")
    day.expect("the card was charged neither time",
               day.balance(day.card_account(card["pan"])) == balance)
    console.print(f"   screenshots: {out}", highlight=False, soft_wrap=True)
