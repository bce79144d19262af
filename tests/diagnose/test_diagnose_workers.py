"""`diagnose --workers K` gives the report one process gives, byte for byte: on a messy log (torn,
blank, cut and non-UTF-8 lines, tids written oddly, no newline at the end), gzipped, gzip cut
short, a folder, and stdin; on a folder of one file per terminal (whole files to each worker),
also when a terminal or a torn line turns out to be in two files; each bad line is counted and
sampled once; a file that is not an event log is still refused with one line and exit 2; Ctrl-C
stops the workers at once."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from steadypos.diagnose import byfile
from steadypos.diagnose.engine import diagnose
from steadypos.diagnose.reader import damage_tid, expand_paths
from steadypos.diagnose.report_json import write_json
from steadypos.diagnose.workers import diagnose_parallel
from steadypos.fleetsim.writer import write_fleet

CLI = [sys.executable, "-c", "from steadypos.cli import main; main()", "diagnose"]
TS = "2026-11-20T10:00:00.000Z"
# (line, bad?) put into the log: bad lines are counted and sampled, the others are events
ODD = [
    (b"not json at all\n", True),
    (b"\n", False),  # blank: counted as blank, not as bad
    (f'{{"ts":"{TS}","type":"screen","screen":"idle"}}\n'.encode(), True),  # no tid
    (f'{{"ts":"{TS}","tid":12,"type":"screen","screen":"idle"}}\n'.encode(), False),
    (f'{{"ts":"{TS}","tid":"T0000\\u0035","type":"screen","screen":"idle"}}\n'.encode(), False),
    (f'{{"ts":"{TS}","x":{{"tid":"T00001"}},"tid":"T00002","type":"screen","screen":"card"}}\n'
     .encode(), False),  # fmt: skip
    (f'{{"ts":"{TS}","tid" : "T00004","type":"screen","screen":"amount"}}\n'.encode(), False),
    (b'{"ts":"yesterday","tid":"T00006","type":"screen","screen":"idle"}\n', True),
    (f'{{"ts":"{TS}","tid":"T00007","type":"screen","screen":"\xff"}}\n'.encode("latin-1"), True),
    (f'{{"ts":"{TS}","tid":"T00003","type":"txn","kind":"sa'.encode() + b"\n", True),  # torn
]


def _messy(tmp: Path) -> tuple[Path, int]:
    """A 30-terminal, 2-day fleet with the ODD lines spread through it, a line over the sniff's
    64 KiB limit near the top (read as two bad pieces) and no newline at the end."""
    buf = io.StringIO()
    write_fleet(30, 2, 41, buf)
    lines = buf.getvalue().encode().splitlines(keepends=True)
    lines.insert(3, b"x" * 70_000 + b"\n")
    step = len(lines) // (len(ODD) + 1)
    for k, (odd, _) in enumerate(ODD):
        lines.insert((k + 1) * step, odd)
    path = tmp / "messy.jsonl"
    path.write_bytes(b"".join(lines).rstrip(b"\n"))
    return path, 2 + sum(bad for _, bad in ODD)


def _reports(paths: list[str]) -> list[str]:
    """The JSON report of one process, then of 2 and 3 workers."""
    out = []
    for k in (1, 2, 3):
        sources = expand_paths(paths)
        result = diagnose(sources) if k == 1 else diagnose_parallel(sources, k)
        buf = io.StringIO()
        write_json(result, buf)
        out.append(buf.getvalue())
    return out


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    return _messy(tmp_path_factory.mktemp("workers"))


def test_a_messy_log_gets_the_same_report_from_1_2_and_3_workers(messy) -> None:
    path, bad = messy
    one, two, three = _reports([str(path)])
    assert one == two == three
    doc = json.loads(one)
    sampled = doc["fleet"]["input"]["malformed_lines"]
    assert len(sampled) == bad  # each bad line once, in order, with its line number in the file
    assert [s["line"] for s in sampled] == sorted(s["line"] for s in sampled)
    assert sampled[:2] == [{"source": str(path), "line": n, "reason": "not JSON"} for n in (4, 5)]
    assert len({t["tid"] for t in doc["terminals"]}) >= 30


def test_gzip_cut_short_and_a_folder_get_the_same_report(messy, tmp_path: Path) -> None:
    path, _ = messy
    data = gzip.compress(path.read_bytes())
    whole, cut = tmp_path / "a.jsonl.gz", tmp_path / "cut" / "b.jsonl.gz"
    whole.write_bytes(data)
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) * 2 // 3])
    (tmp_path / "notes.log").write_text("not an event log\n" * 5, encoding="utf-8")
    one, two, three = _reports([str(cut)])
    assert one == two == three
    assert "unreadable from here on (EOFError)" in one
    one, two, three = _reports([str(tmp_path)])  # a.jsonl.gz, cut/b.jsonl.gz; notes.log skipped
    assert one == two == three
    assert json.loads(one)["fleet"]["input"]["sources"] == [str(whole), str(cut)]


def test_stdin_splits_and_a_refusal_is_one_line_exit_2(messy, tmp_path: Path) -> None:
    path, _ = messy
    runs = [subprocess.run([*CLI, "-", "--json", "-", "--workers", k], input=path.read_bytes(),
                           capture_output=True, timeout=120) for k in ("1", "2")]  # fmt: skip
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr.decode()
    assert runs[0].stdout == runs[1].stdout
    assert json.loads(runs[1].stdout)["fleet"]["input"]["sources"] == ["<stdin>"]
    bad = tmp_path / "firmware.bin"
    bad.write_bytes(bytes(range(256)) * 64)
    proc = subprocess.run([*CLI, str(path), str(bad), "--workers", "2"], capture_output=True,
                          timeout=120)  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "not an event log" in err, err
    assert "Traceback" not in err


def _per_terminal(path: Path, folder: Path) -> dict[str, list[bytes]]:
    """The messy log as one file per terminal (every third gzipped; lines of no terminal in
    T00001's; not the line naming two terminals)."""
    files: dict[str, list[bytes]] = {}
    for raw in path.read_bytes().splitlines(keepends=True):
        if b'"x":{' in raw:
            continue
        try:
            tid = str(json.loads(raw)["tid"])
        except (ValueError, KeyError):
            tid = damage_tid(raw) or "T00001"  # a torn line in its terminal's file
        files.setdefault(tid if tid.startswith("T000") else "T00001", []).append(raw)
    folder.mkdir()
    for n, (tid, lines) in enumerate(sorted(files.items())):
        data = b"".join(lines)
        if n % 3:
            (folder / f"{tid}.jsonl").write_bytes(data)
        else:
            (folder / f"{tid}.jsonl.gz").write_bytes(gzip.compress(data))
    return files


def test_a_folder_of_one_file_per_terminal_is_split_by_file(messy, tmp_path: Path) -> None:
    path, bad = messy
    folder = tmp_path / "fleet"
    files = _per_terminal(path, folder)
    data = gzip.compress(b"".join(files["T00009"]))
    (folder / "T00009.jsonl.gz").write_bytes(data[: len(data) // 2])  # cut short
    (folder / "T00009.jsonl").unlink(missing_ok=True)
    sources = expand_paths([str(folder)])
    jobs = byfile.plan(sources, 2)
    assert jobs is not None and byfile.run(jobs, 2) is not None  # no line was routed
    one, two, three = _reports([str(folder)])
    assert one == two == three
    doc = json.loads(one)
    assert doc["fleet"]["input"]["sources"] == [s.path for s in sources]
    assert len(doc["fleet"]["input"]["malformed_lines"]) == bad + 1  # + the cut file's end


def test_files_that_share_a_terminal_after_their_heads_fall_back_to_routing(
        messy, tmp_path: Path) -> None:  # fmt: skip
    path, _ = messy
    folder = tmp_path / "fleet"
    files = _per_terminal(path, folder)
    late = [raw for raw in files["T00002"] if b'"tid":"T00002"' in raw][-1]
    torn = late[: len(late) // 2] + b"\n"
    with open(folder / "T00005.jsonl", "ab") as fh:  # T00002's last line, and a torn copy
        fh.write(late + torn)
    sources = expand_paths([str(folder)])
    jobs = byfile.plan(sources, 2)
    assert jobs is not None and byfile.run(jobs, 2) is None
    one, two, three = _reports([str(folder)])
    assert one == two == three


STUCK = r"""
import sys, time
from steadypos.diagnose import byfile
from steadypos.diagnose.reader import expand_paths
from steadypos.diagnose.workers import diagnose_parallel

def slow(job):
    time.sleep(60)

byfile.read_files = slow  # the workers are forked: they read as slowly
print("ready", flush=True)
try:
    diagnose_parallel(expand_paths([sys.argv[1]]), 2)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_a_split_by_file_at_once(messy, tmp_path: Path, presses: int) -> None:
    """Ctrl-C (SIGINT to the whole process group, once or twice) stops the workers at once:
    no share still queued is read, no traceback, no process left."""
    path, _ = messy
    folder = tmp_path / "fleet"
    _per_terminal(path, folder)
    proc = subprocess.Popen([sys.executable, "-c", STUCK, str(folder)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    time.sleep(1.0)  # the pool is up and its workers are in their first share
    for _ in range(presses):
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.2)
    try:
        out, _ = proc.communicate(timeout=30)  # the shares would take minutes
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # no worker of the group is left
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a failing run leaves nothing behind
    assert out == "interrupted\n" and proc.returncode == 0


def test_the_workers_report_progress_up_to_the_whole_input(messy, tmp_path: Path) -> None:
    """As one process does: bytes read so far, never going back, ending at the input's size; on
    one file (lines routed) and on a folder of one file per terminal (whole files)."""
    path, _ = messy
    folder = tmp_path / "fleet"
    _per_terminal(path, folder)
    for where in (path, folder):
        sources = expand_paths([str(where)])
        seen: list[int] = []
        diagnose_parallel(sources, 2, seen.append)
        assert seen == sorted(seen) and len(seen) >= 2
        assert seen[-1] == sum(os.path.getsize(s.path) for s in sources)
