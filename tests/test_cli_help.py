"""The whole `steadypos` command tree: every command and option has help, flags read as flags,
defaults are shown whole, and --version prints the version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from steadypos import __version__
from steadypos.cli import app

runner = CliRunner()


def _commands() -> Iterator[tuple[list[str], Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        if cmd.hidden:
            return
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


COMMANDS = list(_commands())
IDS = [" ".join(p) or "steadypos" for p, _ in COMMANDS]


def test_the_tree_is_walked_whole() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"host", "terminal sale", "chaos", "ledger check", "certs terminal"} <= names
    assert len(COMMANDS) > 30


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_every_command_and_option_has_help(path: list[str], cmd: Any) -> None:
    assert (cmd.help or cmd.short_help or "").strip(), f"{' '.join(path)}: no help"
    missing = [p.opts[0] if p.opts else p.name for p in cmd.params
               if not getattr(p, "hidden", False) and not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"steadypos {' '.join(path)}: options without help: {missing}"


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_help_shows_flags_as_flags_and_defaults_whole(path: list[str], cmd: Any) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "…" not in result.output, f"help of {' '.join(path)} is cut:\n{result.output}"


def test_chaos_faults_default_is_whole_and_still_parses() -> None:
    from steadypos.chaos import schedule

    out = runner.invoke(app, ["chaos", "--help"], terminal_width=80).output
    flat = " ".join(out.replace("│", " ").split())
    assert all(kind in flat for kind in schedule.FAULTS)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"steadypos {__version__}\n"


@pytest.mark.parametrize(("args", "message"), [
    (["host", "txn", "--db", "h.db", "--tid", "T0000001", "--stan", "abc"],
     "error: Invalid value for '--stan'"),
    (["terminal", "sale", "--journal", "j", "--amount"], "error: Option '--amount' requires"),
    (["chaos", "--bogus"], "error: No such option: --bogus"),
    (["bogus"], "error: No such command 'bogus'."),
])
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from steadypos.cli_help import run

    assert run(app, args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(message)


def test_run_passes_exit_codes_through(capsys: pytest.CaptureFixture[str]) -> None:
    from steadypos.cli_help import run

    assert run(app, ["--version"]) == 0
    assert run(app, ["decode", "00"]) == 2
    assert capsys.readouterr().out == f"steadypos {__version__}\n"


UNITS = {  # what an option's help must name, by what the option holds
    "path": ("path", "folder", "file"),
    "amount": ("yuan", "fen"),
    "timeout": ("second",),
    "port": ("port",),
    "days": ("day",),
}


def _holds(param: Any) -> str | None:
    name = (param.opts[0] if param.opts else param.name or "").lstrip("-")
    if getattr(param, "is_flag", False):
        return None
    if param.type_descriptor.is_path or name in ("out", "log-file", "labels", "json", "html"):
        return "path"
    for unit in ("amount", "timeout", "port", "days"):
        if unit in name:
            return unit
    return None


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_option_help_names_the_unit(path: list[str], cmd: Any) -> None:
    vague = []
    for p in cmd.params:
        unit = _holds(p)
        if unit and not any(w in (p.help or "").lower() for w in UNITS[unit]):
            vague.append(f"{p.opts[0]}: {p.help!r} (say the {unit}'s unit)")
    assert not vague, f"steadypos {' '.join(path)}: {vague}"
