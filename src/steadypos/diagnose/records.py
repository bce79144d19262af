"""Named records the tracker keeps per terminal: readings, samples and counts (no bare tuples)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Reading(NamedTuple):
    """One `health` event, as numbers where the log gave numbers (None where it did not)."""

    t: float
    temp: float | None
    mem_free: float | None
    mem_total: float | None
    battery: float | None
    power: str | None
    printer: str | None
    signal: float | None


class NetSample(NamedTuple):
    """One `net` event."""

    t: float
    event: str
    signal: float | None


class CardFailure(NamedTuple):
    """One failed card read (time, method, error)."""

    t: float
    method: str
    error: str


class FlowCard(NamedTuple):
    """A failed card read inside the flow being tracked."""

    method: str
    error: str


@dataclass(slots=True)
class DayCounts:
    """What one day of one terminal saw: uses and errors of the reader and the printer."""

    reads: int = 0
    read_errors: int = 0
    swipe_reads: int = 0  # of the reads, on swipes
    swipe_errors: int = 0  # of the read errors, on swipes
    prints: int = 0
    printer_faults: int = 0
    flows: int = 0

    @property
    def uses(self) -> int:
        return self.reads + self.prints

    @property
    def errors(self) -> int:
        return self.read_errors + self.printer_faults


@dataclass(slots=True)
class OperatorCounts:
    """Flows an operator ran on a terminal, and how many of them broke."""

    flows: int = 0
    episodes: int = 0


@dataclass(slots=True)
class SessionCounts:
    """App sessions (start to exit) of one app version, and how many ended in a crash/ANR."""

    sessions: int = 0
    crashed: int = 0


@dataclass(slots=True)
class Crash:
    """A crash/ANR exit (inside a flow or not): the input to crash groups and crash-free rates."""

    t: float
    reason: str
    exception: str | None
    frames: tuple[str, ...]
    version: str | None
    in_flow: bool


@dataclass(slots=True)
class VersionChange:
    """The app version a terminal runs changed at `t` (seen at an app start)."""

    t: float
    old: str | None
    new: str
    flows: int  # flows the terminal had run before the change


@dataclass(slots=True)
class Inventory:
    """What the terminal is (from `inventory` lines; `maintenance` events move the date)."""

    brand: str | None = None
    model: str | None = None
    firmware: str | None = None
    params_version: str | None = None
    mid: str | None = None
    last_maintenance: str | None = None  # YYYY-MM-DD, the latest one known
    maint_null: bool = False  # inventory said last_maintenance: null (none on record)
    seen: bool = False

    @property
    def model_key(self) -> str:
        return f"{self.brand or '?'} {self.model or '?'}"

    @property
    def combo_key(self) -> str:
        return f"{self.brand or '?'} {self.model or '?'} {self.firmware or '?'}"


@dataclass(slots=True)
class Tallies:
    """A terminal's counters over the whole log (bounded memory: numbers and small dicts)."""

    flows: int = 0
    results: int = 0
    txns: int = 0
    timeouts: int = 0
    conn_fails: int = 0
    mac_fails: int = 0
    card_reads: int = 0
    swipe_reads: int = 0
    swipe_errors: int = 0  # swipe read errors (bad_read/lrc/...)
    health: int = 0
    temp_max: float | None = None
    hot: int = 0  # health readings over the document's 75 °C
    low_mem: int = 0  # health readings with free memory near zero
    unstable: int = 0  # power=unstable readings
    low_battery: int = 0  # battery <= 5 % off mains
    printer_faults: int = 0
    paper_out: int = 0
    signal: int = 0
    signal_sum: float = 0.0
    weak: int = 0  # signal readings below the document's -100 dBm
    net_trouble: int = 0
    starts: int = 0
    mismatches: int = 0
    rc: dict[str, int] = field(default_factory=dict)
    card_errors: dict[str, int] = field(default_factory=dict)
    pin_outcomes: dict[str, int] = field(default_factory=dict)
    exits: dict[str, int] = field(default_factory=dict)
    mismatch_fields: dict[str, int] = field(default_factory=dict)

    @property
    def signal_mean(self) -> float | None:
        return self.signal_sum / self.signal if self.signal else None


class Visit(NamedTuple):
    """A `maintenance` event: when, what kind, and how many flows the terminal had run by then."""

    t: float
    kind: str
    flows: int
