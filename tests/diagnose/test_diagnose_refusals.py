"""What is not an event log is refused (one line naming the file, exit 2, no report); a folder
skips such files, each reported once; piped into `head`, the exit status and output stay right;
the HTML report names CJK fonts and its bars start at zero."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from steadypos.diagnose.plots import rate_bars
from steadypos.diagnose.text import FONT_STACK

CLI = [sys.executable, "-c", "from steadypos.cli import main; main()", "diagnose"]
README = Path(__file__).resolve().parents[2] / "README.md"


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, timeout=120)


def _not_logs(tmp: Path) -> list[Path]:
    binary = tmp / "firmware.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    db = tmp / "journal.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t(a)")
        con.execute("insert into t values ('x')")
    doc = tmp / "labels.json"
    doc.write_text('{\n "T00001": "network",\n "T00002": "none"\n}\n', encoding="utf-8")
    one_line = tmp / "report.json"
    one_line.write_text('{"terminals": [], "fleet": {}}\n', encoding="utf-8")
    return [binary, README, db, doc, one_line]


def test_what_is_not_an_event_log_is_refused_and_no_report_is_written(tmp_path: Path) -> None:
    for path in _not_logs(tmp_path):
        out = tmp_path / "d.json"
        proc = _run(str(path), "--json", str(out), "--html", str(tmp_path / "d.html"))
        err = proc.stderr.decode()
        assert proc.returncode == 2, (path, err)
        assert err.count("\n") == 1 and str(path) in err and "not an event log" in err, err
        assert "Traceback" not in err and "Crash-free" not in proc.stdout.decode() + err
        assert not out.exists() and not (tmp_path / "d.html").exists()


def _one_terminal_log() -> bytes:
    lines = [
        '{"ts":"2026-11-20T10:00:00.000Z","tid":"T1","type":"app","event":"start",'
        '"app_version":"1.0.0"}',
        '{"ts":"2026-11-20T10:00:01.000Z","tid":"T1","type":"screen","screen":"idle"}',
    ]
    return ("\n".join(lines) + "\n").encode()


def test_a_folder_skips_each_non_log_once_and_reads_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(_one_terminal_log())
    (folder / "junk.log").write_bytes(bytes(range(256)) * 8)
    (folder / "notes.jsonl").write_text("just some notes\nmore notes\n", encoding="utf-8")
    proc = _run(str(folder))
    text = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0, text
    for name in ("junk.log", "notes.jsonl"):
        assert len(re.findall(rf"skipped\S*: \S*{re.escape(name)}", text)) == 1, text
    # a folder with no event log at all is refused like a file
    (folder / "good.jsonl").unlink()
    proc = _run(str(folder))
    assert proc.returncode == 2 and "no event log among" in proc.stderr.decode()


def test_piped_into_head_the_status_and_output_are_right(tmp_path: Path) -> None:
    log = tmp_path / "one.jsonl"
    log.write_bytes(_one_terminal_log() * 2000)
    for flags in ([], ["--json", "-"]):
        proc = subprocess.run(
            " ".join([*(f"'{a}'" for a in CLI), str(log), *flags])
            + " | head -n 1; exit ${PIPESTATUS[0]}",
            shell=True, executable="/bin/bash", capture_output=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout.decode().count("\n") == 1
        if not flags:  # the summary's first line whole, not wrapped at 80 columns
            assert proc.stdout.decode().rstrip().endswith("from 1 source")
        assert "Traceback" not in proc.stderr.decode() and "BrokenPipe" not in proc.stderr.decode()
    # stdin in, JSON out on stdout, summary on stderr
    proc = _run("-", "--json", "-", stdin=_one_terminal_log())
    assert proc.returncode == 0 and proc.stdout.startswith(b"{")


def test_html_names_cjk_fonts_and_bars_start_at_zero() -> None:
    families = [f.strip().strip("'\"") for f in FONT_STACK.split(",")]
    assert any("CJK" in f or f in ("PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei")
               for f in families), families  # fmt: skip
    assert families[-1] == "sans-serif"
    svg = rate_bars([("4.2.1", 0.17, "", False), ("4.1.0", 0.55, "", True)], "crashes", 0.08)
    xs = {float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)}
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert len(xs) == 1 and widths[0] / widths[1] == pytest.approx(0.17 / 0.55, rel=0.01)
    assert ">0%</text>" in svg


def test_a_cjk_font_of_the_stack_is_installed() -> None:
    """The page tests render Chinese with Debian's fonts-noto-cjk (apt-get install
    fonts-noto-cjk); without it they would show empty boxes."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                               text=True, timeout=30).stdout  # fmt: skip
    except FileNotFoundError:
        pytest.skip("fontconfig (fc-list) is not installed: cannot tell which fonts render")
    if not found.strip():
        pytest.skip("no CJK font installed: apt-get install fonts-noto-cjk")
    installed = {f.strip() for line in found.splitlines() for f in line.split(",")}
    stack = {f.strip().strip("'\"") for f in FONT_STACK.split(",")}
    assert installed & stack, (sorted(installed)[:5], stack)
