"""Bar charts as plain SVG numbers for the templates (no script, nothing fetched from outside):
one horizontal bar per item, the value axis from zero to a round top (100 for percentages)."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 520
LEFT, RIGHT, TOP, AXIS = 160, 64, 6, 22  # label column, value text, margin, tick row
ROW = 26


@dataclass(frozen=True)
class Bar:
    key: str  # what the item is (a state, a cause, a version): data-key in the SVG
    label: str  # as it fits the label column; `full` in the bar's tooltip
    full: str
    value: float
    text: str  # the value as printed at the bar's end
    y: float
    width: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int  # x of the value 0
    right: float  # x of the top value
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # x, label; the first is 0 at `left`
    empty: bool


def round_top(value: float, least: float = 5) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (and `least`)."""
    value = max(value, least)
    power = 10 ** math.floor(math.log10(value))
    return next(base * power for base in (1, 2, 5, 10) if base * power >= value)


def fit(label: str, room: int = 24) -> str:
    """`label` cut to the label column (a CJK character takes the room of two)."""
    used = 0
    for n, ch in enumerate(label):
        used += 2 if ord(ch) > 0x2E80 else 1
        if used > room:
            return label[:n - 1] + "…"
    return label


def chart(items: list[tuple[str, str, float]], top: float | None = None,
          unit: str = "", digits: int = 0) -> Chart:
    """Bars for `(key, label, value)` items, in their order; the axis runs from 0 to `top`
    (a round number above the largest value when not given)."""
    if not items:
        return Chart(WIDTH, TOP + AXIS, LEFT, WIDTH - RIGHT, [], [], True)
    top = top or round_top(max(v for _, _, v in items))
    inner = WIDTH - LEFT - RIGHT
    bars = [Bar(key, fit(label), label, value, f"{value:.{digits}f}{unit}", TOP + ROW * n,
                round(inner * max(value, 0) / top, 1))
            for n, (key, label, value) in enumerate(items)]
    steps = 4 if str(int(top / 10 ** math.floor(math.log10(top)))) == "2" else 5
    ticks = [(round(LEFT + inner * k / steps, 1), f"{top * k / steps:g}{unit}")
             for k in range(steps + 1)]
    return Chart(WIDTH, TOP + ROW * len(items) + AXIS, LEFT, LEFT + inner, bars, ticks, False)
