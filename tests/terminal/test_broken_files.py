"""Bad input and broken files: a corrupt or truncated journal, a missing or damaged key store, a
path that cannot be created, an unknown fault switch. Each is one line on stderr that says what
to do, exit 2, no traceback, and no new file left behind; a hypothesis test corrupts journals at
random offsets."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rig import MID, TERM, TID, TerminalRig
from support.cli import refused
from typer.testing import CliRunner

from steadypos.terminal.commands import terminal_app

RUNNER = CliRunner()
INIT = ["--host", "127.0.0.1", "--port", "1", "--tid", TID, "--mid", MID, "--tmk", TERM["tmk"]]


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _refused(args: list[str]) -> str:
    return refused(terminal_app, args)


def test_init_where_no_file_can_be_created(tmp_path: Path) -> None:
    line = _refused(["init", "--journal", "/nonexistent/x.db", *INIT])
    assert "the folder /nonexistent does not exist" in line
    assert not Path("/nonexistent").exists()
    line = _refused(["init", "--journal", str(tmp_path / "t.db"), *INIT[:3], "70000", *INIT[4:]])
    assert "--port must be 1..65535" in line and _files(tmp_path) == set()
    bad_tpdu = _refused(["init", "--journal", str(tmp_path / "t.db"), *INIT, "--tpdu", "zz"])
    assert "TPDU" in bad_tpdu and _files(tmp_path) == set()


def test_a_journal_that_is_not_one(term: TerminalRig) -> None:
    folder = term.journal.parent
    term.journal.write_bytes(b"this is not a journal at all" * 40)
    before = _files(folder)
    line = _refused(["sale", "--journal", str(term.journal), "--amount", "1.00", "--qr",
                     "1234567890123456"])
    assert "is damaged (not an SQLite file)" in line and "restore it from a backup" in line
    assert "run `steadypos terminal init`" not in line  # init would refuse: it is not the fix
    assert _files(folder) == before


def test_the_one_line_is_in_the_operator_s_language(term: TerminalRig, tmp_path: Path) -> None:
    term.journal.write_bytes(b"")
    line = _refused(["sign-in", "--journal", str(term.journal), "--lang", "zh"])
    assert "已损坏（空文件）" in line and "请从备份恢复" in line
    line = _refused(["init", "--journal", "/nonexistent/x.db", *INIT, "--lang", "zh"])
    assert line == "error: 文件夹 /nonexistent 不存在：请先创建，或换一个 --journal"
    line = _refused(["journal", "--journal", str(tmp_path / "none.db"), "--lang", "zh"])
    assert "没有终端：请先运行 steadypos terminal init" in line
    assert not (tmp_path / "none.db").exists()


def test_a_missing_or_damaged_key_store(term: TerminalRig) -> None:
    keys = term.journal.with_name(term.journal.name + ".keys")
    saved = keys.read_bytes()
    keys.write_text("{not json")
    assert "key store" in _refused(["status", "--journal", str(term.journal)])
    keys.unlink()
    line = _refused(["sign-in", "--journal", str(term.journal)])
    assert "is missing, so the terminal's keys are gone" in line
    keys.write_bytes(saved)


def test_an_unknown_fault_switch(signed: TerminalRig) -> None:
    line = _refused(["--fault", "printer=smoke", "sale", "--journal", str(signed.journal),
                     "--amount", "1.00", "--qr", "1234567890123456"])
    assert "--fault 'printer=smoke': printer faults are paper_out, jam" in line


@pytest.fixture
def pristine(tmp_path: Path, signed: TerminalRig) -> Path:
    """A used journal (sales, a receipt, its event log) kept aside, closed."""
    signed.sale("12.34")
    signed.sale("1.00")
    keep = tmp_path / "pristine"
    keep.mkdir()
    for p in signed.journal.parent.iterdir():
        if p.name.startswith("term.db") and p.is_file():
            shutil.copy2(p, keep / p.name)
    return keep


def _zero_page_of(journal: Path, table: str) -> None:
    """Make the first page of `table` in a closed journal unreadable (its b-tree header zeroed)."""
    with contextlib.closing(sqlite3.connect(journal)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                          (table,)).fetchone()[0]
    raw = bytearray(journal.read_bytes())
    at = (root - 1) * size + (100 if root == 1 else 0)
    raw[at:at + 12] = bytes(12)
    journal.write_bytes(bytes(raw))


def test_a_journal_whose_transactions_are_damaged_is_one_line(pristine: Path) -> None:
    # Found by the hypothesis test below: the journal opened (its config page was fine), then
    # reading its transactions raised sqlite3.DatabaseError out of `journal --json`.
    journal = pristine / "term.db"
    _zero_page_of(journal, "txns")
    before = _files(pristine)
    line = _refused(["journal", "--journal", str(journal)])
    assert _files(pristine) == before  # closed for real: SQLite took its -wal and -shm away
    assert "is damaged" in line and "restore it from a backup" in line
    ran = RUNNER.invoke(terminal_app, ["journal", "--journal", str(journal), "--json"])
    assert ran.exception is None or isinstance(ran.exception, SystemExit), ran.exception
    assert ran.exit_code == 2, ran.output
    assert len((ran.stderr or ran.stdout).strip().splitlines()) == 1, ran.output


def test_a_newline_written_into_the_schema_stays_off_the_refusal(pristine: Path) -> None:
    # Found by the hypothesis test below (offset 2980, b"\n"): SQLite's "malformed database
    # schema (...)" quoted the damaged schema's text, newline and all, into the one line.
    journal = pristine / "term.db"
    raw = bytearray(journal.read_bytes())
    raw[2980:2981] = b"\n"  # inside the schema's text on page 1
    journal.write_bytes(bytes(raw))
    ran = RUNNER.invoke(terminal_app, ["status", "--journal", str(journal)])
    assert ran.exit_code == 2, ran.output
    line = (ran.stderr or ran.stdout).strip()
    assert "malformed database schema" in line, ran.output  # the case it is about
    assert len(line.splitlines()) == 1 and "is damaged" in line, ran.output


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_journal_corrupted_anywhere_never_ends_in_a_traceback(pristine: Path, tmp_path: Path,
                                                                data: st.DataObject) -> None:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work)
    journal = work / "term.db"
    raw = bytearray(journal.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        at = data.draw(st.integers(0, len(raw) - 1), label="offset")
        junk = data.draw(st.binary(min_size=1, max_size=64), label="junk")
        raw[at:at + len(junk)] = junk
    journal.write_bytes(bytes(raw))
    before = _files(work)
    for args in (["journal", "--json"], ["status"], ["reprint"]):
        ran = RUNNER.invoke(terminal_app, [args[0], "--journal", str(journal), *args[1:]])
        assert ran.exception is None or isinstance(ran.exception, SystemExit), \
            f"{args}: {ran.exception!r}"
        assert ran.exit_code in (0, 1, 2), (args, ran.exit_code, ran.output)
        if ran.exit_code == 2:  # one line: on stderr, or the JSON object of --json
            assert len((ran.stderr or ran.stdout).strip().splitlines()) == 1, ran.output
        assert _files(work) <= before | {"term.db.receipts"}, args
