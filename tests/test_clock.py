"""The one clock format (steadypos.clock): what the event log, the terminal's journal and the
host's store write, and that times stored before it (the host's `+00:00`) still parse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from steadypos.clock import format_ts, format_utc, now_ts, parse_utc
from steadypos.host.store import open_store

FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_one_format_with_milliseconds_and_z() -> None:
    assert format_ts(1_795_169_703.12) == "2026-11-20T10:15:03.120Z"
    assert format_utc(datetime(2026, 11, 20, 18, 15, 3, 120999,
                               tzinfo=timezone(timedelta(hours=8)))) == "2026-11-20T10:15:03.120Z"
    assert format_utc(datetime(2026, 11, 20, 10, 15, 3)) == "2026-11-20T10:15:03.000Z"
    assert FORMAT.fullmatch(now_ts())


def test_now_is_the_clock_in_the_one_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """now_ts() keeps each second's text: every millisecond reads as format_utc reads it."""
    for ns in (1_795_169_703_120_999_999, 1_795_169_703_999_000_000, 1_795_169_704_000_000_001,
               1_795_169_703_000_999_999, 4_102_444_799_999_999_999):
        monkeypatch.setattr("steadypos.clock.time.time_ns", lambda ns=ns: ns)
        assert now_ts() == format_utc(datetime.fromtimestamp(ns // 1000 / 1e6, UTC)), ns


def test_old_and_new_stored_values_parse_to_the_same_moment() -> None:
    moment = datetime(2026, 12, 2, 10, 0, 0, 123000, tzinfo=UTC)
    assert parse_utc("2026-12-02T10:00:00.123+00:00") == moment  # the host before the one format
    assert parse_utc("2026-12-02T10:00:00.123Z") == moment
    assert parse_utc("2026-12-02T18:00:00.123+08:00") == moment
    assert parse_utc(format_utc(moment)) == moment
    with pytest.raises(ValueError):
        parse_utc("2026-12-02T10:00:00.123")  # no offset: not a time this project wrote


def test_the_host_store_writes_the_one_format(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.db", synchronous="OFF")
    try:
        store.add_audit("ops", "card_unlock", "622202*********0123", "ticket 42")
        [(at, *_)] = store.audit_entries()
    finally:
        store.close()
    assert FORMAT.fullmatch(at), at
    assert abs(parse_utc(at) - datetime.now(UTC)) < timedelta(minutes=5)
