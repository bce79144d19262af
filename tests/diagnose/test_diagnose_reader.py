"""Reader: tolerant streaming over files, folders, .gz and stdin; malformed lines by number."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadypos.diagnose.reader import (
    InputError,
    NotAnEventLog,
    ReadStats,
    Source,
    TimestampError,
    expand_paths,
    parse_ts,
    read_events,
)
from steadypos.eventlog import format_ts

GOOD = {"ts": "2026-11-20T10:15:03.120Z", "tid": "T1", "type": "screen", "screen": "idle"}


def _read(paths: list[str] | list[Source]) -> tuple[list[dict], ReadStats]:
    stats = ReadStats()
    sources = [p if isinstance(p, Source) else Source(p, True) for p in paths]
    events: list[dict] = []
    read_events(sources, stats, lambda _t, ev: events.append(ev))
    return events, stats


def test_parse_ts_with_and_without_millis_and_offsets() -> None:
    with_ms = parse_ts("2026-11-20T10:15:03.120Z")
    assert with_ms - parse_ts("2026-11-20T10:15:03Z") == pytest.approx(0.12)
    assert parse_ts("2026-11-20T18:15:03.120+08:00") == pytest.approx(with_ms)
    assert parse_ts("2026-11-20 10:15:03.120") == pytest.approx(with_ms)
    assert format_ts(with_ms) == "2026-11-20T10:15:03.120Z"
    assert parse_ts(1_795_169_703_120) == pytest.approx(1_795_169_703.12)
    for bad in ("yesterday", "2026-13-40T00:00:00Z", None, True, "2026-11-20T10:xx:03Z"):
        with pytest.raises(TimestampError):
            parse_ts(bad)


def test_malformed_lines_are_counted_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"ts": GOOD["ts"], "type": "screen"}),
        json.dumps({**GOOD, "ts": "soon"}),
        json.dumps({**GOOD, "type": "weather", "rain": True}),
        json.dumps({**GOOD, "extra_key": {"deep": 1}}),
        json.dumps({"tid": "T1", "ts": GOOD["ts"]}),
        *[json.dumps(GOOD)] * 3,  # most lines are events: an event log with damage
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events, stats = _read([str(path)])
    assert [e["type"] for e in events] == ["screen", "weather", "screen", *["screen"] * 3]
    assert stats.lines == 12
    assert stats.blank == 1
    assert stats.malformed == 5
    assert [(m.line, m.reason) for m in stats.samples] == [
        (2, "not JSON"),
        (4, "not a JSON object"),
        (5, "missing tid"),
        (6, "missing or bad ts"),
        (9, "missing type"),
    ]
    assert {m.source for m in stats.samples} == {str(path)}


def test_gz_and_folders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with gzip.open(tmp_path / "sub" / "b.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({**GOOD, "tid": "T2"}) + "\n")
    (tmp_path / "a.jsonl").write_text(json.dumps(GOOD) + "\n")
    (tmp_path / "labels.json").write_text('{"T1": "none"}')  # not a log: skipped in a folder
    (tmp_path / "x.events.jsonl").write_text(json.dumps({**GOOD, "tid": "T3"}) + "\n")
    # a gzip file without the .gz suffix is recognised by its magic number
    raw = gzip.compress((json.dumps({**GOOD, "tid": "T4"}) + "\n").encode())
    (tmp_path / "c.log").write_bytes(raw)
    sources = expand_paths([str(tmp_path)])
    assert [Path(s.path).name for s in sources] == [
        "a.jsonl", "c.log", "b.jsonl.gz", "x.events.jsonl"]  # fmt: skip
    events, stats = _read(sources)
    assert sorted(e["tid"] for e in events) == ["T1", "T2", "T3", "T4"]
    assert stats.malformed == 0


def test_truncated_gzip_is_reported_not_fatal(tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(json.dumps(GOOD) for _ in range(2000)) + "\n").encode())
    bad = tmp_path / "cut.jsonl.gz"
    bad.write_bytes(data[: len(data) // 2])
    good = tmp_path / "ok.jsonl"
    good.write_text(json.dumps({**GOOD, "tid": "T9"}) + "\n")
    events, stats = _read([str(bad), str(good)])
    assert events[-1]["tid"] == "T9"
    assert stats.malformed == 1
    assert "unreadable" in stats.samples[0].reason


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        expand_paths([str(tmp_path / "nope.jsonl")])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.just(None), st.text(max_size=30)), max_size=40))
def test_any_garbage_is_counted_never_fatal(tmp_path_factory, rows: list[str | None]) -> None:
    """Mostly events: the garbage is counted and skipped; mostly garbage: not an event log."""
    path = tmp_path_factory.mktemp("h") / "g.jsonl"
    text = []
    for row in rows:
        if row is None:
            text.append(json.dumps(GOOD))
        else:
            text.append("{" + row.replace("\n", " ").replace("\r", " "))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    good = rows.count(None)
    if not good or good < len(rows) - good:
        with pytest.raises(NotAnEventLog, match="g.jsonl"):
            _read([str(path)])
        return
    events, stats = _read([str(path)])
    assert len(events) == good
    assert stats.malformed == len(rows) - good
