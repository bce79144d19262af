"""Progress of long work for a person at a terminal: count, rate and time left, drawn with Rich
on stderr; silent when stderr is not a TTY or the command prints JSON (scripts read a clean
stream)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TransferSpeedColumn,
)
from rich.text import Text


def _rate(task: Task) -> float | None:
    """Items per second: Rich's recent estimate, else the average so far (slow items, e.g. a
    chaos schedule of real processes, leave Rich's 30-second window without two samples)."""
    speed = task.finished_speed or task.speed
    if speed:
        return speed
    if task.completed and task.elapsed:
        return task.completed / task.elapsed
    return None


class RateColumn(ProgressColumn):
    """Items per second (per minute when slower than one a second), whole above 100."""

    def render(self, task: Task) -> Text:
        speed = _rate(task)
        if not speed:
            shown = "-/s"
        elif speed < 1:
            shown = f"{speed * 60:.1f}/min"
        else:
            shown = f"{speed:,.0f}/s" if speed >= 100 else f"{speed:.1f}/s"
        return Text(shown, style="progress.data.speed", no_wrap=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class TimesColumn(ProgressColumn):
    """Time elapsed and time left at the rate so far ("--:--" until there is a rate)."""

    def render(self, task: Task) -> Text:
        speed = _rate(task)
        if task.finished:
            left = "00:00"
        elif speed and task.total is not None:
            left = _clock(max(task.total - task.completed, 0) / speed)
        else:
            left = "--:--"
        return Text(f"{_clock(task.elapsed or 0)} elapsed, {left} left",
                    style="progress.remaining", no_wrap=True)


class Meter:
    """What a worker reports to: `advance(n)` items done, or `update(done)` so far."""

    def __init__(self, bar: Progress, total: float | None) -> None:
        self._bar = bar
        self._task = bar.add_task("", total=total)

    def advance(self, n: float = 1) -> None:
        self._bar.advance(self._task, n)

    def update(self, done: float) -> None:
        self._bar.update(self._task, completed=done)


def shown(quiet: bool = False, console: Console | None = None) -> bool:
    """Whether progress would be drawn: a TTY on stderr and not quiet (--json)."""
    return not quiet and (console or Console(stderr=True)).is_terminal


@contextmanager
def progress(label: str, total: float | None, unit: str = "", *, quiet: bool = False,
             as_bytes: bool = False, console: Console | None = None) -> Iterator[Meter]:
    """A progress bar for `total` items (None: unknown) of `unit`, or bytes with as_bytes; it
    disappears when the work is done (the command's own summary follows)."""
    console = console or Console(stderr=True)
    amount: list[ProgressColumn] = (
        [DownloadColumn(), TransferSpeedColumn()] if as_bytes
        else [MofNCompleteColumn(), TextColumn(unit), RateColumn()])
    bar = Progress(TextColumn(label), BarColumn(bar_width=14), *amount, TimesColumn(),
                   console=console, transient=True, disable=not shown(quiet, console))
    with bar:
        yield Meter(bar, total)
