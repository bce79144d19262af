"""The Rich summary of `steadypos diagnose`: causes, worst terminals, crash groups, actions."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from steadypos.diagnose.engine import Diagnosis
from steadypos.diagnose.fleet import FleetContext, flagged_model, flagged_version, version_key
from steadypos.diagnose.reader import ReadStats
from steadypos.diagnose.taxonomy import ACTIONS, ALL_LABELS, NONE, Cause
from steadypos.diagnose.text import plural
from steadypos.diagnose.verdicts import TerminalVerdict

WORST = 10


def print_summary(d: Diagnosis, console: Console) -> None:
    st = d.stats
    console.print(
        f"[bold]Flash-exit diagnosis[/bold]: {plural(len(d.results), 'terminal')}, "
        f"{plural(len(d.episodes), 'episode')}, {plural(st.events, 'event')} in "
        f"{plural(st.lines, 'line')} from {plural(len(st.sources), 'source')}",
        highlight=False, soft_wrap=True,
    )
    _print_input(st, console)
    by_cause = _print_causes(d, console)
    _print_worst(d, console)
    _print_undecided(d, console)
    _print_groups(d, console)
    _print_crash_free(d.ctx, console)
    _print_actions(by_cause, console)


def _print_input(st: ReadStats, console: Console) -> None:
    """What of the input was skipped, unusable or given twice."""
    if st.malformed:
        where = ", ".join(f"{m.source}:{m.line} ({m.reason})" for m in st.samples[:5])
        more = f" and {st.malformed - 5} more" if st.malformed > 5 else ""
        console.print(
            f"[yellow]{plural(st.malformed, 'malformed line')} skipped[/yellow]: {where}{more}",
            highlight=False,
        )
    if st.bad_values:
        console.print(f"[yellow]{plural(st.bad_values, 'event')} with unusable values"
                      " ignored[/yellow]")
    for skipped in st.skipped:
        console.print(f"[yellow]skipped[/yellow]: {skipped}", highlight=False, soft_wrap=True)
    if st.duplicates:
        console.print(f"{plural(st.duplicates, 'line')} given twice in a row, used once",
                      highlight=False)
    for bad in st.unreadable:
        console.print(f"[yellow]unreadable[/yellow]: {bad}", highlight=False)


def _print_causes(d: Diagnosis, console: Console) -> Counter[Cause]:
    """Causes by count of terminals and of episodes; the terminals' counts."""
    eps = d.episodes
    by_cause = Counter(r.cause for r in d.results)
    ep_cause = Counter(ep.cause for ep in eps)
    table = Table(title="Causes by count")
    for col in ("cause", "terminals", "episodes"):
        table.add_column(col, justify="left" if col == "cause" else "right")
    for label in sorted(ALL_LABELS, key=lambda k: (-by_cause.get(k, 0), -ep_cause.get(k, 0))):
        if by_cause.get(label) or ep_cause.get(label):
            table.add_row(label, str(by_cause.get(label, 0)), str(ep_cause.get(label, 0)))
    console.print(table)
    return by_cause


def _print_worst(d: Diagnosis, console: Console) -> None:
    worst = sorted((r for r in d.results if r.cause != NONE), key=lambda r: (-r.episodes, r.tid))[
        :WORST
    ]
    if worst:
        table = Table(title=f"Worst {plural(len(worst), 'terminal')}")
        for col in ("tid", "episodes", "cause", "conf", "runner-up", "evidence"):
            table.add_column(col, overflow="fold")
        for r in worst:
            table.add_row(
                r.tid, str(r.episodes), r.cause, f"{r.confidence:.2f}", _runner_up(r),
                "; ".join(r.evidence[:3]),
            )  # fmt: skip
        console.print(table)


def _print_groups(d: Diagnosis, console: Console) -> None:
    ctx = d.ctx
    groups = sorted(ctx.groups.values(), key=lambda g: (-g.count, g.fingerprint))[:5]
    if groups:
        table = Table(title="Top crash groups")
        for col in ("fingerprint", "crashes", "terminals", "versions", "cause"):
            table.add_column(col, overflow="fold")
        for g in groups:
            table.add_row(
                g.fingerprint, str(g.count), str(len(g.terminals)),
                ", ".join(g.versions), d.groups[g.fingerprint].cause,
            )  # fmt: skip
        console.print(table)


def _print_crash_free(ctx: FleetContext, console: Console) -> None:
    flagged = [
        f"app {v}: {100 * r.crash_free:.1f}% crash-free"
        for v, r in sorted(ctx.by_version.items(), key=lambda kv: version_key(kv[0]))
        if flagged_version(ctx, v)
    ] + [
        f"{m}: {100 * r.crash_free:.1f}% crash-free"
        for m, r in sorted(ctx.by_model.items())
        if flagged_model(ctx, m)
    ]
    console.print(
        f"Crash-free sessions: fleet {100 * ctx.overall.crash_free:.2f}%"
        + (f"; standing out: {'; '.join(flagged)}" if flagged else ""),
        highlight=False,
    )


def _print_actions(by_cause: Counter[Cause], console: Console) -> None:
    table = Table(title="Actions")
    table.add_column("cause")
    table.add_column("terminals", justify="right")
    table.add_column("what to do")
    for label, n in by_cause.most_common():
        if label != NONE:
            table.add_row(label, str(n), "; ".join(ACTIONS[label]))
    if table.row_count:
        console.print(table)


def _runner_up(r: TerminalVerdict) -> str:
    return f"{r.runner_up} ({r.runner_up_confidence:.2f})" if r.runner_up else ""


def _print_undecided(d: Diagnosis, console: Console) -> None:
    """The terminals the diagnosis could not decide (confidence under 0.50, or evidence on a
    family's noise floor), all of them."""
    unsure = d.undecided
    if not unsure:
        return
    table = Table(title=f"Could not decide: {plural(len(unsure), 'terminal')} (confidence < 0.50"
                        " or on the noise floor)")  # fmt: skip
    for col in ("tid", "episodes", "best guess", "conf", "runner-up", "why"):
        table.add_column(col, overflow="fold")
    for r in unsure:
        why = "noise floor" if r.on_floor else "low confidence"
        table.add_row(r.tid, str(r.episodes), r.cause, f"{r.confidence:.2f}", _runner_up(r), why)
    console.print(table)
