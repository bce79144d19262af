"""`steadypos NAME` builds only the subsystem that registers NAME: the table of who registers
what matches the whole tree, and a diagnosis run imports none of the host's or the TMS's
libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import typer.main

from steadypos.cli import OWNER, SUBSYSTEMS, build


def _names(command: str | None) -> list[str]:
    return sorted(typer.main.get_command(build(command)).commands)  # type: ignore[attr-defined]


def _tree(cmd: Any, path: str = "") -> Iterator[str]:
    """Every command's path with its options, under `cmd`."""
    yield f"{path} {sorted(o for p in cmd.params for o in p.opts)}"
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _tree(sub, f"{path} {name}")


def test_the_table_names_every_top_level_command_once() -> None:
    assert sorted(OWNER) == _names(None)
    assert sum(len(names) for names in SUBSYSTEMS.values()) == len(OWNER)


def test_each_command_alone_is_what_its_subsystem_registers() -> None:
    whole = typer.main.get_command(build()).commands  # type: ignore[attr-defined]
    for names in SUBSYSTEMS.values():
        for name in names:
            alone = typer.main.get_command(build(name)).commands  # type: ignore[attr-defined]
            assert sorted(alone) == sorted(names)
            assert list(_tree(alone[name])) == list(_tree(whole[name]))  # every option too


def test_the_terminal_alone_still_runs_chaos_broken_terminals() -> None:
    probe = ("from steadypos.cli import build\n"
             "from steadypos.terminal import commands\n"
             "build('terminal')\n"
             "print(' '.join(sorted(commands.BEHAVIOURS)))\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)  # fmt: skip
    from steadypos.chaos.broken import BROKEN

    assert out.stdout.split() == sorted(BROKEN) and len(BROKEN) >= 3


def test_a_diagnosis_imports_neither_the_database_nor_the_web_stack(tmp_path) -> None:
    log = tmp_path / "fleet.jsonl"
    log.write_text('{"ts":"2026-11-20T10:00:00.000Z","tid":"T1","type":"screen","screen":"idle"}\n')
    probe = (
        "import sys, json\n"
        "sys.argv = ['steadypos', 'diagnose', sys.argv[1], '--json', sys.argv[2]]\n"
        "from steadypos.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'fastapi', 'textual', 'psycopg', 'uvicorn')"
        " if m in sys.modules)\n"
        "print(json.dumps([code, heavy]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(log), str(tmp_path / "r.json")],
                         capture_output=True, text=True, check=True)  # fmt: skip
    code, heavy = json.loads(out.stdout.splitlines()[-1])
    assert code == 0 and heavy == []
    assert json.loads((tmp_path / "r.json").read_text())["fleet"]["terminals"] == 1


def test_the_imports_drawn_for_readers_are_the_table() -> None:
    """cli.py imports the subsystems by name; its TYPE_CHECKING block names the same modules, so
    readers and tools that draw the imports see every floor the command stands on."""
    import ast
    import inspect

    from steadypos import cli

    tree = ast.parse(inspect.getsource(cli))
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and getattr(n.test, "id", "") == "TYPE_CHECKING")  # fmt: skip
    drawn = {alias.name for n in block.body if isinstance(n, ast.Import) for alias in n.names}
    assert drawn == set(SUBSYSTEMS)


def test_building_trees_again_registers_no_command_twice() -> None:
    """Tests and tools build the whole tree and single commands' in one process: a subsystem's
    register() must not add its subcommands to its shared groups again each time."""
    from steadypos.host.commands import host_group
    from steadypos.terminal.commands import terminal_app

    for name in ("host", "terminal", None):
        build(name)
    for group in (host_group, terminal_app):
        names = [c.name for c in group.registered_commands]
        assert len(names) == len(set(names)) and names, names
