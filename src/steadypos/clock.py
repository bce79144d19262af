"""The one clock format of what steadypos writes: RFC 3339 in UTC with milliseconds and `Z`
(`2026-11-20T10:15:03.120Z`), in the event log, the terminal's journal and the host's store.

It imports nothing of the project (the bottom floor). `parse_utc` reads that format and any
other RFC 3339 offset, so that values stored before it (the host wrote `+00:00`) still parse.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def format_utc(moment: datetime) -> str:
    """An aware moment in the one format (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # strftime's %Y does not pad such years: keep its text
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    # strftime's text, built without it (twice a sale in the host's store)
    return (f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def format_ts(epoch: float) -> str:
    """Epoch seconds -> the one format (rounded to the millisecond)."""
    return format_utc(datetime.fromtimestamp(round(epoch, 3), tz=UTC))


# "00".."99": the two-digit parts of dates and times, looked up by value (formatting an int
# with {:02d} costs ~20 times more: the host's answer has nine such parts a sale).
TWO_DIGITS: tuple[str, ...] = tuple(f"{i:02d}" for i in range(100))
_MILLIS: tuple[str, ...] = tuple(f"{i:03d}" for i in range(1000))  # "000".."999", the same way

# (epoch second, its text up to the seconds) of the last now_ts(): the date and time of a
# second are worked out once (the host stamps two rows a sale), its milliseconds each call.
_last_second: tuple[int, str] = (-1, "")


def now_ts() -> str:
    """The current time in the one format: format_utc(datetime.now(UTC)) (the same clock,
    truncated to the millisecond the same way)."""
    global _last_second
    second, milli = divmod(time.time_ns() // 1_000_000, 1000)
    known, text = _last_second
    if second != known:
        text = format_utc(datetime.fromtimestamp(second, UTC))[:-5]  # without ".mmmZ"
        _last_second = (second, text)
    return f"{text}.{_MILLIS[milli]}Z"


def parse_utc(text: str) -> datetime:
    """A stored time back as an aware UTC moment: `Z` or any offset (`+00:00`, `+08:00`)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return moment.astimezone(UTC)
