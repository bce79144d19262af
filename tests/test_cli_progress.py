"""Progress: count, rate and time left on a terminal; nothing at all when not a TTY or quiet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.progress import progress


def _console(tty: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=tty, width=120, color_system=None), buf


def test_a_terminal_sees_count_rate_and_time_left() -> None:
    console, buf = _console(tty=True)
    with progress("chaos", 4, "schedules", console=console) as meter:
        for _ in range(3):
            meter.advance()
        console.file.flush()
        meter._bar.refresh()
        shown = buf.getvalue()
    assert "chaos" in shown
    assert "3/4" in shown
    assert "schedules" in shown and "/s" in shown
    assert "elapsed," in shown and "left" in shown


def test_bytes_show_sizes() -> None:
    console, buf = _console(tty=True)
    with progress("reading", 8 << 20, as_bytes=True, console=console) as meter:
        meter.update(4 << 20)
        meter._bar.refresh()
    assert "4.2/8.4 MB" in buf.getvalue()


def test_silent_when_not_a_tty_or_quiet() -> None:
    for tty, quiet in ((False, False), (True, True)):
        console, buf = _console(tty=tty)
        with progress("chaos", 4, "schedules", quiet=quiet, console=console) as meter:
            meter.advance(4)
        assert buf.getvalue() == ""


def test_simulate_fleet_piped_prints_only_its_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate-fleet", "--terminals", "3", "--days", "1",
                                      "--out", str(tmp_path / "ev.jsonl"),
                                      "--labels", str(tmp_path / "labels.json")])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith("3 terminals (")


def test_slow_items_still_show_a_rate_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """One item a minute: Rich's own 30-second estimate has no two samples; the average does."""
    from steadypos import progress as module

    console, buf = _console(tty=True)
    with progress("chaos", 10, "schedules", console=console) as meter:
        task = meter._bar.tasks[0]
        meter.advance(2)
        monkeypatch.setattr(type(task), "elapsed", property(lambda _t: 120.0))
        monkeypatch.setattr(type(task), "speed", property(lambda _t: None))
        assert module._rate(task) == 2 / 120
        assert module.RateColumn().render(task).plain == "1.0/min"
        assert module.TimesColumn().render(task).plain == "02:00 elapsed, 08:00 left"


def test_a_line_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.progress import Task

    monkeypatch.setattr(Task, "speed", property(lambda _t: 2931.5))
    console, buf = _console(tty=True)
    console.width = 80
    with progress("sign-ins", 60_000, "sign-ins", console=console) as meter:
        meter.advance(30_000)
        meter._bar.refresh()
    last = buf.getvalue().replace("\x1b[2K", "").replace("\x1b[1A", "").split("\r")[-2]
    assert "…" not in last and "30000/60000 sign-ins 2,932/s" in last
    assert last.split("\n")[0].endswith("elapsed, 00:10 left")
