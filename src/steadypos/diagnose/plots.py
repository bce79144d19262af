"""Small inline SVG charts (no scripts, no network): stacked bars, Pareto, rate bars, timeline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from steadypos.diagnose.taxonomy import COLOURS
from steadypos.diagnose.text import FONT_STACK

FONT = f"font-family='{FONT_STACK}' font-size=\"11\""


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def stacked_bars(
    x_labels: list[str], series: Mapping[str, list[int]], title: str, width: int = 860,
    height: int = 260,
) -> str:  # fmt: skip
    """Bars per x, stacked by series (label -> counts per x), with a legend."""
    left, right, top, bottom = 40, 190, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s[i] for s in series.values()) for i in range(len(x_labels))]
    peak = max(totals, default=0) or 1
    n = max(1, len(x_labels))
    bw = plot_w / n
    body = [f'<text x="{left}" y="13" {FONT} font-weight="bold">{escape(title)}</text>']
    body.append(_axis(left, top, plot_w, plot_h, peak))
    for i, label in enumerate(x_labels):
        y = float(top + plot_h)
        for name, counts in series.items():
            v = counts[i]
            if not v:
                continue
            h = plot_h * v / peak
            y -= h
            body.append(
                f'<rect x="{left + i * bw + 1:.1f}" y="{y:.1f}" width="{max(1.0, bw - 2):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS.get(name, "#999")}">'
                f"<title>{escape(label)} {escape(name)}: {v}</title></rect>"
            )
        if n <= 31 or i % max(1, n // 14) == 0:
            body.append(
                f'<text x="{left + i * bw + bw / 2:.1f}" y="{top + plot_h + 14}" {FONT} '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    body.extend(_legend([k for k in series if any(series[k])], width - right + 10, top))
    return _svg(width, height, body, title)


def pareto(counts: list[tuple[str, int]], title: str, width: int = 860, height: int = 280) -> str:
    """Bars in falling order with the cumulative share as a line (the Pareto chart)."""
    counts = [(k, v) for k, v in sorted(counts, key=lambda kv: -kv[1]) if v > 0]
    left, right, top, bottom = 110, 40, 20, 100
    plot_w, plot_h = width - left - right, height - top - bottom
    total = sum(v for _, v in counts) or 1
    peak = max((v for _, v in counts), default=1)
    n = max(1, len(counts))
    bw = plot_w / n
    body = [f'<text x="{left}" y="13" {FONT} font-weight="bold">{escape(title)}</text>']
    body.append(_axis(left, top, plot_w, plot_h, peak))
    points = []
    acc = 0
    for i, (name, v) in enumerate(counts):
        h = plot_h * v / peak
        x = left + i * bw
        body.append(
            f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{bw - 4:.1f}" '
            f'height="{h:.1f}" fill="{COLOURS.get(name, "#999")}"><title>{escape(name)}: {v}'
            "</title></rect>"
        )
        cx, cy = x + bw / 2, top + plot_h + 8
        body.append(
            f'<text x="{cx:.1f}" y="{cy}" {FONT} text-anchor="end" '
            f'transform="rotate(-40 {cx:.1f} {cy})">{escape(name)}</text>'
        )
        acc += v
        points.append(f"{x + bw / 2:.1f},{top + plot_h * (1 - acc / total):.1f}")
    if points:
        body.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#333" stroke-width="1.5"/>'
        )
        body.append(
            f'<text x="{width - right + 4}" y="{top + 4}" {FONT}>100%</text>'
            f'<text x="{width - right + 4}" y="{top + plot_h}" {FONT}>0%</text>'
        )
    return _svg(width, height, body, title)


def rate_bars(
    rows: list[tuple[str, float, str, bool]], title: str, threshold: float | None = None,
    width: int = 860,
) -> str:  # fmt: skip
    """Horizontal bars of a share in 0..1 (name, share, note, flagged) on an axis from 0, with a
    threshold line; the axis ends a little past the largest bar or the threshold."""
    row_h = 20
    left, top = 210, 24
    plot_w = width - left - 170
    height = top + row_h * max(1, len(rows)) + 24
    lo = 0.0
    peak = max([r[1] for r in rows] + [threshold or 0.0])
    hi = min(1.0, _nice(peak * 1.15)) or 1.0
    span = hi - lo
    body = [f'<text x="4" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    for i, (name, rate, note, flagged) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * (rate - lo) / span
        colour = "#d62728" if flagged else "#2ca02c"
        body.append(
            f'<text x="{left - 6}" y="{y + 14}" {FONT} text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{max(0.5, w):.1f}" height="{row_h - 6}" '
            f'fill="{colour}"><title>{escape(name)}: {100 * rate:.2f}%</title></rect>'
            f'<text x="{left + plot_w + 6}" y="{y + 14}" {FONT}>{100 * rate:.2f}% {escape(note)}'
            "</text>"
        )
    if threshold is not None:
        x = left + plot_w * (threshold - lo) / span
        y1 = top + row_h * max(1, len(rows))
        body.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y1}" stroke="#333" '
            f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{y1 + 14}" {FONT} '
            f'text-anchor="end">{100 * threshold:.2f}% line</text>'
        )
    body.append(
        f'<text x="{left}" y="{height - 4}" {FONT}>0%</text>'
        f'<text x="{left + plot_w}" y="{height - 4}" {FONT} text-anchor="end">'
        f"{100 * hi:g}%</text>"
    )
    return _svg(width, height, body, title)


def _nice(x: float) -> float:
    """The next round number at or above x (1, 2, 5 x 10^k)."""
    if x <= 0:
        return 0.0
    step = 10 ** math.floor(math.log10(x))
    return next(m * step for m in (1, 2, 5, 10) if m * step >= x)


def timeline(
    points: Sequence[tuple[float, str, str]], t0: float, t1: float, title: str, width: int = 860,
) -> str:  # fmt: skip
    """One terminal's episodes on a time axis: (epoch, cause, tooltip) as coloured ticks."""
    left, right, height = 10, 10, 46
    plot_w = width - left - right
    span = max(1.0, t1 - t0)
    body = [
        f'<line x1="{left}" y1="30" x2="{left + plot_w}" y2="30" stroke="#888"/>',
        f'<text x="{left}" y="12" {FONT}>{escape(title)}</text>',
    ]
    day = 86400.0
    first_day = (t0 // day + 1) * day
    d = first_day
    while d < t1:
        x = left + plot_w * (d - t0) / span
        body.append(f'<line x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="36" stroke="#bbb"/>')
        d += day
    for t, cause, tip in points:
        x = left + plot_w * (t - t0) / span
        body.append(
            f'<rect x="{x - 1.5:.1f}" y="18" width="3" height="24" '
            f'fill="{COLOURS.get(cause, "#999")}"><title>{escape(tip)}</title></rect>'
        )
    return _svg(width, height, body, title)


def _axis(left: int, top: int, w: float, h: float, peak: float) -> str:
    return (
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>'
        f'<text x="{left - 4}" y="{top + 8}" {FONT} text-anchor="end">{peak:g}</text>'
        f'<text x="{left - 4}" y="{top + h}" {FONT} text-anchor="end">0</text>'
    )


def _legend(names: list[str], x: int, y: int) -> list[str]:
    out = []
    for i, name in enumerate(names):
        yy = y + i * 15
        out.append(
            f'<rect x="{x}" y="{yy}" width="10" height="10" fill="{COLOURS.get(name, "#999")}"/>'
            f'<text x="{x + 14}" y="{yy + 9}" {FONT}>{escape(name)}</text>'
        )
    return out
