"""One self-contained HTML report: inline CSS and SVG; no scripts, fonts or images to fetch."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import IO

from steadypos.diagnose import plots
from steadypos.diagnose.engine import Diagnosis
from steadypos.diagnose.fleet import flagged_model, flagged_version, version_key
from steadypos.diagnose.report_json import episode_evidence
from steadypos.diagnose.taxonomy import (
    ACTIONS,
    ALL_LABELS,
    COLOURS,
    NONE,
    SEED_CAUSE,
    VITALS_OVERALL,
    VITALS_PER_MODEL,
)
from steadypos.diagnose.text import FONT_STACK, plural
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.diagnose.verdicts import TerminalVerdict
from steadypos.eventlog import format_ts

MAX_TERMINAL_SECTIONS = 300
MAX_EPISODE_ROWS = 40

CSS = (
    "body{font-family:" + FONT_STACK + ";margin:24px;color:#222;max-width:1100px}"
    + """
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:6px 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.n{text-align:right}.sw{display:inline-block;width:10px;height:10px}
details{margin:6px 0;border:1px solid #eee;padding:4px 8px}summary{cursor:pointer}
.muted{color:#777}.bad{color:#b00}
"""
)


def _e(x: object) -> str:
    return escape(str(x))


def _swatch(label: str) -> str:
    return f'<span class="sw" style="background:{COLOURS.get(label, "#999")}"></span> {_e(label)}'


def render(d: Diagnosis) -> str:
    ctx = d.ctx
    eps = d.episodes
    parts: list[str] = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Flash-exit diagnosis</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Flash-exit diagnosis (闪退诊断)</h1>",
        f"<p>{plural(len(d.results), 'terminal')}, {plural(len(eps), 'episode')}, "
        f"{plural(d.stats.events, 'event')} from {plural(len(d.stats.sources), 'source')}; "
        f"log from {_e(format_ts(ctx.start_t))} to "
        f"{_e(format_ts(ctx.end_t))}. Fleet app_version {_e(ctx.current_version)}, params "
        f"{_e(ctx.current_params)}; crash-free sessions {100 * ctx.overall.crash_free:.2f}%.</p>",
    ]
    if d.stats.malformed:
        items = "".join(
            f"<li>{_e(m.source)} line {m.line}: {_e(m.reason)}</li>" for m in d.stats.samples
        )
        parts.append(
            f"<p class='bad'>{plural(d.stats.malformed, 'malformed line')} skipped:</p>"
            f"<ul>{items}</ul>"
        )
    # episodes over time
    parts.append("<h2>Episodes over time</h2>")
    parts.append(_over_time(d))
    parts += _causes(d)
    parts.append(_undecided(d))
    parts.append(_crash_rates(d))
    parts += _groups(d)
    parts += _terminals(d)
    parts.append("</body></html>")
    return "\n".join(parts)


def _causes(d: Diagnosis) -> list[str]:
    """Terminals and episodes by cause, as Pareto charts and a table with the actions."""
    by_cause = Counter(r.cause for r in d.results)
    ep_cause = Counter(ep.cause for ep in d.episodes)
    parts: list[str] = []
    parts.append("<h2>Causes</h2>")
    parts.append(
        plots.pareto([(k, v) for k, v in by_cause.items() if k != NONE], "Terminals by cause")
    )
    parts.append(plots.pareto(list(ep_cause.items()), "Episodes by cause"))
    rows: list[str] = []
    for label in ALL_LABELS:
        if not by_cause.get(label) and not ep_cause.get(label):
            continue
        actions = "<br>".join(_e(a) for a in ACTIONS[label])
        rows.append(
            f"<tr><td>{_swatch(label)}</td><td>{_e(SEED_CAUSE[label])}</td>"
            f"<td class='n'>{by_cause.get(label, 0)}</td><td class='n'>{ep_cause.get(label, 0)}"
            f"</td><td>{actions}</td></tr>"
        )
    parts.append(
        "<table><tr><th>cause</th><th>seed's cause</th><th>terminals</th><th>episodes</th>"
        "<th>actions</th></tr>" + "".join(rows) + "</table>"
    )
    return parts


def _groups(d: Diagnosis) -> list[str]:
    """The 20 biggest crash groups and the cause each was given."""
    ctx = d.ctx
    parts: list[str] = []
    parts.append("<h2>Crash groups</h2>")
    groups = sorted(ctx.groups.values(), key=lambda g: (-g.count, g.fingerprint))[:20]
    rows = [
        f"<tr><td>{_e(g.fingerprint)}</td><td class='n'>{g.count}</td>"
        f"<td class='n'>{len(g.terminals)}</td><td>{_e(', '.join(g.versions))}</td>"
        f"<td>{_e(', '.join(g.models))}</td><td>{_swatch(d.groups[g.fingerprint].cause)}<br>"
        f"<span class='muted'>{_e('; '.join(d.groups[g.fingerprint].why))}</span></td></tr>"
        for g in groups
    ]
    parts.append(
        "<table><tr><th>fingerprint (exception + first in-app frames)</th><th>crashes</th>"
        "<th>terminals</th><th>app versions</th><th>brand/models</th><th>cause</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return parts


def _terminals(d: Diagnosis) -> list[str]:
    """A section per terminal with episodes, those with a cause first."""
    parts: list[str] = []
    parts.append("<h2>Terminals</h2>")
    worst = sorted(
        (r for r in d.results if r.episodes),
        key=lambda r: (r.cause == NONE, -r.episodes, r.tid),
    )
    parts.append(
        f"<p class='muted'>{plural(len(worst), 'terminal')} with episodes (the first "
        f"{min(len(worst), MAX_TERMINAL_SECTIONS)} shown, those with a cause first).</p>"
    )
    terms = {t.tid: t for t in d.terminals}
    for r in worst[:MAX_TERMINAL_SECTIONS]:
        parts.append(_terminal_section(d, r, terms[r.tid]))
    return parts


def _over_time(d: Diagnosis) -> str:
    eps = d.episodes
    t0, t1 = d.ctx.start_t, d.ctx.end_t
    hourly = (t1 - t0) <= 2 * 86400
    step = 3600.0 if hourly else 86400.0
    start = (t0 // step) * step
    n = int((t1 - start) // step) + 1 if eps else 1
    n = min(n, 400)
    labels = [
        format_ts(start + i * step)[11:13] + "h" if hourly else format_ts(start + i * step)[5:10]
        for i in range(n)
    ]
    series: dict[str, list[int]] = {}
    for v in eps:
        i = min(n - 1, max(0, int((v.episode.t1 - start) // step)))
        series.setdefault(v.cause, [0] * n)[i] += 1
    ordered = {str(k): series[k] for k in ALL_LABELS if k in series}
    return plots.stacked_bars(labels, ordered, "Episodes per " + ("hour" if hourly else "day"))


def _terminal_section(d: Diagnosis, r: TerminalVerdict, term: TerminalRecord) -> str:
    t0, t1 = d.ctx.start_t, d.ctx.end_t
    mine = [v for v in d.episodes if v.tid == r.tid]
    points = [(v.episode.t1, v.cause, f"{v.end} {v.cause} at {v.screen}") for v in mine]
    inv_ = term.inv
    inv = ", ".join(
        f"{k} {v}"
        for k, v in (
            ("brand", inv_.brand), ("model", inv_.model), ("firmware", inv_.firmware),
            ("app", term.app_version), ("params", inv_.params_version), ("mid", inv_.mid),
            ("last maintenance", inv_.last_maintenance),
        )
        if v
    )  # fmt: skip
    rows = "".join(
        f"<tr><td>{_e(ep.start)}</td><td>{_e(ep.end)}</td><td>{_e(ep.screen)}</td>"
        f"<td>{_swatch(ep.cause)}</td><td>{_e('; '.join(episode_evidence(ep)))}</td></tr>"
        for ep in mine[:MAX_EPISODE_ROWS]
    )
    more = len(mine) - MAX_EPISODE_ROWS
    evidence = "".join(f"<li>{_e(x)}</li>" for x in r.evidence)
    actions = "".join(f"<li>{_e(x)}</li>" for x in r.actions)
    return (
        f"<details id='t-{_e(r.tid)}'><summary><b>{_e(r.tid)}</b> — {_swatch(r.cause)} "
        f"({r.confidence:.2f}){_runner_up(r)}, {plural(r.episodes, 'episode')}</summary>"
        f"<p class='muted'>{_e(inv)}</p>"
        + plots.timeline(points, t0, t1, f"{r.tid}: episodes over the log")
        + f"<p>Evidence:</p><ul>{evidence}</ul>"
        + (f"<p>Actions:</p><ul>{actions}</ul>" if actions else "")
        + "<table><tr><th>start</th><th>end</th><th>screen</th><th>cause</th><th>evidence</th>"
        f"</tr>{rows}</table>"
        + (f"<p class='muted'>and {more} more</p>" if more > 0 else "")
        + "</details>"
    )


def _runner_up(r: TerminalVerdict) -> str:
    if r.runner_up is None:
        return ""
    return f"; runner-up {_e(r.runner_up)} ({r.runner_up_confidence:.2f})"


def _undecided(d: Diagnosis) -> str:
    rows = "".join(
        f"<tr><td><a href='#t-{_e(r.tid)}'>{_e(r.tid)}</a></td><td>{_swatch(r.cause)}</td>"
        f"<td class='n'>{r.confidence:.2f}</td><td>{_e(r.runner_up or '')}</td>"
        f"<td class='n'>{r.episodes}</td></tr>"
        for r in d.undecided
    )
    head = f"<h2>Could not decide ({len(d.undecided)})</h2>"
    if not rows:
        return head + "<p class='muted'>Every verdict is at least 0.50 sure and off the noise" \
            " floor.</p>"  # fmt: skip
    return (
        head + "<p class='muted'>Confidence under 0.50, or evidence on a family's noise floor"
        " (more than noise usually shows, only just enough or not enough for a cause): the best"
        " guess is shown; look at the log."
        "</p><table><tr><th>tid</th><th>best guess</th><th>confidence</th><th>runner-up</th>"
        "<th>episodes</th></tr>" + rows + "</table>"
    )


def _crash_rates(d: Diagnosis) -> str:
    ctx = d.ctx
    vrows = [
        (f"app {v}", r.crash_rate, f"crash-free {100 * r.crash_free:.2f}%: {r.crashes}/"
         f"{plural(r.sessions, 'session')}, {plural(r.terminals, 'terminal')}",
         flagged_version(ctx, v))
        for v, r in sorted(ctx.by_version.items(), key=lambda kv: version_key(kv[0]))
    ]  # fmt: skip
    mrows = [
        (m, r.crash_rate, f"crash-free {100 * r.crash_free:.2f}%: {r.crashes}/"
         f"{plural(r.sessions, 'session')}, {plural(r.terminals, 'terminal')}",
         flagged_model(ctx, m))
        for m, r in sorted(ctx.by_model.items())
    ]  # fmt: skip
    return (
        "<h2>Crash-free sessions</h2>"
        + plots.rate_bars(vrows, "Crashed sessions by app version", VITALS_OVERALL)
        + plots.rate_bars(mrows, "Crashed sessions by brand/model", VITALS_PER_MODEL)
        + "<p class='muted'>Bars: the share of sessions that crashed, on an axis from 0 (the "
        "crash-free rate is 100% minus it). Red: a version over 1.09% crashes and twice the rest "
        "of the fleet, or a brand/model over 8% (Android vitals' lines). A session runs from app "
        "start to exit; a crash is exit reason crash or anr.</p>"
    )


def write_html(d: Diagnosis, out: IO[str]) -> None:
    out.write(render(d))
