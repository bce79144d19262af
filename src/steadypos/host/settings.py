"""What a host runs with, decided once at the command line and passed down to the code that
needs it: no module below the command line reads the environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time


@dataclass(frozen=True)
class HostSettings:
    """`clock_at`: the host's clock starts there and runs on (test and chaos runs take it across
    midnight); None: the wall clock."""

    clock_at: datetime | None = None

    def clock(self) -> Callable[[], datetime]:
        if self.clock_at is None:
            return datetime.now
        offset = self.clock_at - datetime.now()
        return lambda: datetime.now() + offset


def parse_clock_at(raw: str) -> datetime:
    """`23:59:58` (today at that time) or a full ISO date and time; ValueError otherwise."""
    raw = raw.strip()
    if "-" in raw:
        return datetime.fromisoformat(raw)
    return datetime.combine(date.today(), time.fromisoformat(raw))
