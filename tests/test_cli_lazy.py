"""`steadypos NAME` builds only the subsystem that registers NAME: the table of who registers
what matches the whole tree, and a diagnosis run imports none of the host's or the TMS's
libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import typer.main

from steadypos.cli import OWNER, SUBSYSTEMS, build


def _names(command: str | None) -> list[str]:
    return sorted(typer.main.get_command(build(command)).commands)  # type: ignore[attr-defined]


def test_the_table_names_every_top_level_command_once() -> None:
    assert sorted(OWNER) == _names(None)
    assert sum(len(names) for names in SUBSYSTEMS.values()) == len(OWNER)


def test_each_command_alone_is_what_its_subsystem_registers() -> None:
    for names in SUBSYSTEMS.values():
        for name in names:
            assert _names(name) == sorted(names)


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
