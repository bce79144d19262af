"""What a host runs with, decided once at the command line and passed down to the code that
needs it: no module below the command line reads the environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from steadypos.host.store import StoreUrl

KEYS_SUFFIX = ".keys"


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


def default_keys_path(db: str | Path | StoreUrl) -> Path | None:
    """Where the host's key file is unless `--keys` says: beside a SQLite file, `<file>.keys`;
    None for a database that is no file (give --keys)."""
    url = db if isinstance(db, StoreUrl) else StoreUrl.parse(db)
    if url.sqlite_path is None:
        return None
    return url.sqlite_path.with_name(url.sqlite_path.name + KEYS_SUFFIX)
