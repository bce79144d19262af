"""A line plot as plain SVG numbers for the templates (no script, nothing fetched from outside):
crash-free rate in percent over time, one line per series."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 28


@dataclass(frozen=True)
class Line:
    name: str  # CSS class and the legend's label
    label: str
    points: list[tuple[datetime, float]]


@dataclass(frozen=True)
class Drawn:
    name: str
    label: str
    path: str  # an SVG polyline's `points`
    dots: list[tuple[float, float, str]]  # x, y, tooltip


@dataclass(frozen=True)
class Plot:
    width: int
    height: int
    lines: list[Drawn]
    y_ticks: list[tuple[float, str]]  # y, label
    x_ticks: list[tuple[float, str]]  # x, label
    empty: bool


def _floor5(pct: float) -> float:
    return max(0.0, math.floor((pct - 0.5) / 5) * 5)


def plot(lines: list[Line]) -> Plot:
    """Times on x (first to last point), percent on y (from a round floor under the lowest point
    to 100)."""
    every = [p for line in lines for p in line.points]
    if not every:
        return Plot(WIDTH, HEIGHT, [], [], [], True)
    t0 = min(t for t, _ in every)
    span = max((max(t for t, _ in every) - t0).total_seconds(), 1.0)
    low = _floor5(min(v for _, v in every))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: datetime) -> float:
        return round(LEFT + inner_w * (t - t0).total_seconds() / span, 1)

    def y(v: float) -> float:
        return round(TOP + inner_h * (100 - v) / (100 - low), 1)

    drawn = []
    for line in lines:
        dots = [(x(t), y(v), f"{t:%m-%d %H:%M} {v}%") for t, v in line.points]
        drawn.append(Drawn(line.name, line.label, " ".join(f"{a},{b}" for a, b, _ in dots),
                           dots))
    step = 5.0 if 100 - low <= 25 else 10.0 if 100 - low <= 50 else 25.0
    ticks = [(y(v), f"{v:g}%") for v in _range(low, 100.0, step)]
    t1 = t0.fromtimestamp(t0.timestamp() + span, t0.tzinfo)
    x_ticks = [(float(LEFT), f"{t0:%m-%d %H:%M}"), (float(WIDTH - RIGHT), f"{t1:%m-%d %H:%M}")]
    return Plot(WIDTH, HEIGHT, drawn, ticks, x_ticks, False)


def _range(low: float, high: float, step: float) -> list[float]:
    out, v = [], low
    while v <= high + 1e-9:
        out.append(v)
        v += step
    return out
