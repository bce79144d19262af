"""Commands run in-process through typer's runner, and the one check of a refused command: exit 2,
one line on stderr saying what is wrong, no traceback."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

RUNNER = CliRunner()


def refused(app: typer.Typer, args: list[str]) -> str:
    """Run a command that must be refused: exit 2, one `error: ` line, no traceback; its line."""
    ran = RUNNER.invoke(app, args)
    assert ran.exception is None or isinstance(ran.exception, SystemExit), ran.exception
    assert ran.exit_code == 2, ran.output
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.stderr
    assert "Traceback" not in ran.output
    return lines[0]
