"""HostSettings: decided at the command line (`steadypos host --clock-at`), passed down to the
service's clock; a bad value is a one-line error, exit 2."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.host import commands as host_commands
from steadypos.host.settings import HostSettings, parse_clock_at


def test_wall_clock_by_default() -> None:
    before = datetime.now()
    now = HostSettings().clock()()
    assert before <= now <= datetime.now()


def test_clock_starts_at_clock_at_and_runs_on() -> None:
    start = datetime(2026, 3, 1, 23, 59, 58)
    clock = HostSettings(clock_at=start).clock()
    first, second = clock(), clock()
    assert start <= first <= second < start + timedelta(seconds=5)


def test_parse_clock_at() -> None:
    assert parse_clock_at("23:59:58") == datetime.combine(date.today(), time(23, 59, 58))
    assert parse_clock_at(" 2026-03-01T23:59:58 ") == datetime(2026, 3, 1, 23, 59, 58)
    with pytest.raises(ValueError):
        parse_clock_at("bogus")


def test_bad_clock_at_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["host", "--db", str(tmp_path / "h.db"), "--port", "0",
                                      "--clock-at", "25:99"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --clock-at '25:99' is neither HH:MM:SS nor an ISO date and time"]
    assert not (tmp_path / "h.db").exists()


def test_conformance_mode_comes_from_the_top(tmp_path: Path) -> None:
    """The host's commands alone, without the chaos floor's conformance mode passed in."""
    bare = typer.Typer()
    host_commands.register(bare)
    result = CliRunner().invoke(bare, ["host", "--db", str(tmp_path / "h.db"), "--port", "0",
                                       "--conformance-report", str(tmp_path / "r.json")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: this steadypos has no conformance mode"
