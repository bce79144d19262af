"""Episodes (flash-exits) and what surrounded each one: the flow being tracked, the readings of the
half hour before its end, and the snapshot taken when it ended.

An episode (docs/flash-exit-diagnosis.md): a flow that left `idle` (screen amount/card/pin/online/
receipt, or a card event) and then reached `idle`, an app `start`, or an app `exit` other than
`normal`, without a `result` screen and without an operator cancel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from steadypos.diagnose.records import CardFailure, FlowCard, NetSample, Reading
from steadypos.eventlog import NET_TROUBLE, PRINTER_FAULTS, CardError, CardMethod, PrinterState

WINDOW_S = 1800.0  # readings looked at before an episode's end ("before exits")
SPARSE_WINDOW_S = 4 * WINDOW_S  # with none that recent, the last reading of these 2 h stands in
NET_WINDOW_S = 900.0  # network trouble this close before the end counts for the episode
BURST_WINDOW_S = 600.0  # swipe errors of earlier flows this close before an episode: a burst
PARAMS_WINDOW_S = 6 * 3600.0  # a params mismatch this recent counts for an episode
END_IDLE = "idle"  # an episode that ended on the idle screen (not an exit)
END_RESTART = "restart"  # ended by an app start with no exit logged


@dataclass(slots=True)
class OpenFlow:
    """The flow in progress on a terminal, from its first flow screen (or card event)."""

    t0: float
    ts0: str
    operator: str | None
    screen: str = ""
    had_result: bool = False
    cancelled: bool = False
    cards: list[FlowCard] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    rcs: list[str] = field(default_factory=list)
    printer: str | None = None
    damaged: bool = False  # a line of this terminal was torn while the flow ran

    @property
    def closed(self) -> bool:
        """Finished on a result or cancelled by the operator: never an episode."""
        return self.had_result or self.cancelled


@dataclass(slots=True)
class Surroundings:
    """What the terminal's readings and other events said around an episode's end."""

    temp_max: float | None = None
    mem_min: float | None = None
    mem_total: float | None = None
    battery_min: float | None = None
    power_unstable: bool = False
    printer: str | None = None
    signal_min: float | None = None
    net_trouble: int = 0
    swipe_burst: int = 0  # swipe read errors in other flows of the minutes before
    params_recent: bool = False

    def absorb(self, r: Reading) -> None:
        if r.temp is not None and (self.temp_max is None or r.temp > self.temp_max):
            self.temp_max = r.temp
        if r.mem_free is not None and (self.mem_min is None or r.mem_free < self.mem_min):
            self.mem_min = r.mem_free
            self.mem_total = r.mem_total
        if r.battery is not None and (self.battery_min is None or r.battery < self.battery_min):
            self.battery_min = r.battery
        if r.power == "unstable":
            self.power_unstable = True
        if r.printer in PRINTER_FAULTS or r.printer == PrinterState.PAPER_OUT and not self.printer:
            self.printer = r.printer
        self.weaker(r.signal)

    def weaker(self, signal: float | None) -> None:
        if signal is not None and (self.signal_min is None or signal < self.signal_min):
            self.signal_min = signal


@dataclass(slots=True)
class Episode:
    """One flash-exit: the flow's own facts and its surroundings (the evidence is read from it)."""

    tid: str
    t0: float
    t1: float
    start: str
    end: str
    screen: str
    end_kind: str  # END_IDLE, END_RESTART or the exit reason
    exception: str | None
    frames: tuple[str, ...]
    version: str | None
    operator: str | None
    trained: bool | None  # had the operator a training record by then (None: nobody logged in)
    phases: tuple[str, ...]
    rcs: tuple[str, ...]
    card_errors: tuple[FlowCard, ...]
    pins: tuple[str, ...]
    printer: str | None  # the printer state read during the flow
    around: Surroundings
    maint_date: str | None  # last maintenance known at the time (YYYY-MM-DD)
    since_update: float | None  # seconds since the app version last changed on this terminal
    damaged: bool  # a torn line of this terminal fell inside the flow: its end may be lost

    @property
    def is_exit(self) -> bool:
        """Ended by the app going away (exit other than normal, or a start with no exit logged)."""
        return self.end_kind != END_IDLE


def surroundings(t: float, t0: float, health: Iterable[Reading], net: Iterable[NetSample],
                 cards: Iterable[CardFailure], mismatch_t: float) -> Surroundings:  # fmt: skip
    """The snapshot at an episode's end `t` of a flow that started at `t0` (rings newest last)."""
    s = Surroundings()
    since = t - WINDOW_S
    latest = None
    for r in reversed(list(health)):
        if r.t > t:
            continue
        if latest is None:
            latest = r
        if r.t < since:
            break
        s.absorb(r)
    if s.temp_max is None and latest is not None and latest.t >= t - SPARSE_WINDOW_S:
        s.absorb(latest)
    net_since = t - NET_WINDOW_S
    for n in reversed(list(net)):
        if n.t < net_since:
            break
        if n.t <= t:
            if n.event in NET_TROUBLE:
                s.net_trouble += 1
            s.weaker(n.signal)
    burst_since = t - BURST_WINDOW_S
    for c in reversed(list(cards)):
        if c.t < burst_since:
            break
        if c.t < t0 and c.method == CardMethod.SWIPE and c.error in (CardError.BAD_READ,
                                                                     CardError.LRC):
            s.swipe_burst += 1
    s.params_recent = t - mismatch_t <= PARAMS_WINDOW_S
    return s
