"""Per-terminal state machine over event log v1: episodes (flash-exits) and the signals around them.

An episode (docs/flash-exit-diagnosis.md): a flow that left `idle` (screen amount/card/pin/online/
receipt, or a card event) and then reached `idle`, an app `start`, or an app `exit` other than
`normal`, without a `result` screen and without an operator cancel. Memory per terminal is bounded
(small rings of recent readings and counters); it does not grow with the number of events.
"""

from __future__ import annotations

from collections import deque

from steadypos.diagnose.reader import format_ts
from steadypos.diagnose.taxonomy import CRASH_REASONS, FLOW_SCREENS, HOT_C, WEAK_SIGNAL_DBM

WINDOW_S = 1800.0  # readings looked at before an episode's end ("before exits")
# (when none is that recent, the last reading of the 2 hours before stands in: sparse logs)
NET_WINDOW_S = 900.0  # network trouble this close before the end counts for the episode
BURST_WINDOW_S = 600.0  # swipe errors of earlier flows this close before an episode: a burst
PARAMS_WINDOW_S = 6 * 3600.0  # a params mismatch this recent counts for an episode
MAX_TROUBLE = 2000  # network trouble times kept per terminal (for merchant clustering)
MAX_CRASHES = 2000  # crash records kept per terminal
MAX_FRAMES = 8

_BAD_PRINTER = ("jam", "head_fault")
_NET_TROUBLE = ("down", "connect_fail", "reset")
_READ_ERRORS = ("bad_read", "lrc", "chip_mute", "no_code")


def _num(value: object) -> float | None:
    """A reading as float, or None when absent / not a number (tolerant of odd logs)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _frames(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(f) for f in value[:MAX_FRAMES])
    if isinstance(value, str) and value:
        return (value,)
    return ()


class Episode:
    """One flash-exit and the evidence found around it (filled by the tracker)."""

    __slots__ = (
        "tid", "t0", "t1", "start", "end", "screen", "end_kind", "exception", "frames",
        "version", "operator", "temp_max", "mem_min", "mem_total", "battery_min",
        "power_unstable", "printer", "signal_min", "net_trouble", "phases", "rcs",
        "params_recent", "card_errors", "swipe_burst", "pins", "cause", "evidence",
        "scores", "family", "kind", "weight",
    )  # fmt: skip

    def __init__(self, tid: str, t0: float, t1: float, start: str, end: str, screen: str) -> None:
        self.tid = tid
        self.t0 = t0
        self.t1 = t1
        self.start = start
        self.end = end
        self.screen = screen
        self.end_kind = "idle"
        self.exception: str | None = None
        self.frames: tuple[str, ...] = ()
        self.version: str | None = None
        self.operator: str | None = None
        self.temp_max: float | None = None
        self.mem_min: float | None = None
        self.mem_total: float | None = None
        self.battery_min: float | None = None
        self.power_unstable = False
        self.printer: str | None = None
        self.signal_min: float | None = None
        self.net_trouble = 0
        self.phases: tuple[str, ...] = ()
        self.rcs: tuple[str, ...] = ()
        self.params_recent = False
        self.card_errors: tuple[tuple[str, str], ...] = ()
        self.swipe_burst = 0
        self.pins: tuple[str, ...] = ()
        self.cause = "none"
        self.evidence: list[str] = []
        self.scores: dict[str, float] = {}
        self.family = ""
        self.kind = ""
        self.weight = 1.0

    @property
    def is_exit(self) -> bool:
        """Ended by the app going away (exit other than normal, or a start with no exit logged)."""
        return self.end_kind != "idle"


class Crash:
    """A crash/ANR exit (inside a flow or not): the input to crash groups and crash-free rates."""

    __slots__ = ("t", "reason", "exception", "frames", "version", "in_flow")

    def __init__(
        self, t: float, reason: str, exception: str | None, frames: tuple[str, ...],
        version: str | None, in_flow: bool,
    ) -> None:  # fmt: skip
        self.t = t
        self.reason = reason
        self.exception = exception
        self.frames = frames
        self.version = version
        self.in_flow = in_flow


class Terminal:
    """Everything remembered about one terminal: inventory, flow state, rings and counters."""

    __slots__ = (
        "tid", "brand", "model", "firmware", "app_version", "params_version", "mid",
        "last_maintenance", "maint_null", "has_inventory", "first_t", "last_t", "out_of_order",
        "in_flow", "flow_t0", "flow_ts0", "screen", "had_result", "cancelled", "f_cards",
        "f_pins", "f_phases", "f_rcs", "f_printer", "health", "net", "cards", "mismatch_t",
        "operator", "session_open", "session_version", "flows", "results", "txns", "timeouts",
        "conn_fails", "mac_fails", "rc", "card_reads", "card_errors", "swipe_reads",
        "swipe_errors", "pin_outcomes", "health_n", "temp_max", "hot_n", "lowmem_n",
        "unstable_n", "lowbatt_n", "printer_faults", "paper_out", "signal_n", "signal_sum",
        "weak_n", "net_trouble_n", "exits", "starts", "sessions", "days", "ops", "trained",
        "maintenance", "versions", "mismatches", "mismatch_fields", "params_applied",
        "trouble", "crashes", "episodes",
    )  # fmt: skip

    def __init__(self, tid: str) -> None:
        self.tid = tid
        self.brand: str | None = None
        self.model: str | None = None
        self.firmware: str | None = None
        self.app_version: str | None = None
        self.params_version: str | None = None
        self.mid: str | None = None
        self.last_maintenance: str | None = None
        self.maint_null = False  # inventory said last_maintenance: null (none on record)
        self.has_inventory = False
        self.first_t: float | None = None
        self.last_t = 0.0
        self.out_of_order = 0
        # the flow in progress
        self.in_flow = False
        self.flow_t0 = 0.0
        self.flow_ts0 = ""
        self.screen = ""
        self.had_result = False
        self.cancelled = False
        self.f_cards: list[tuple[str, str]] = []
        self.f_pins: list[str] = []
        self.f_phases: list[str] = []
        self.f_rcs: list[str] = []
        self.f_printer: str | None = None
        # rings of recent readings: (t, temp, mem_free, mem_total, battery, power, printer, signal)
        self.health: deque[tuple] = deque(maxlen=16)
        self.net: deque[tuple[float, str, float | None]] = deque(maxlen=16)
        self.cards: deque[tuple[float, str, str]] = deque(maxlen=32)
        self.mismatch_t = -1e18
        self.operator: str | None = None
        self.session_open = False
        self.session_version: str | None = None
        # counters
        self.flows = 0
        self.results = 0
        self.txns = 0
        self.timeouts = 0
        self.conn_fails = 0
        self.mac_fails = 0
        self.rc: dict[str, int] = {}
        self.card_reads = 0
        self.card_errors: dict[str, int] = {}
        self.swipe_reads = 0
        self.swipe_errors = 0
        self.pin_outcomes: dict[str, int] = {}
        self.health_n = 0
        self.temp_max: float | None = None
        self.hot_n = 0
        self.lowmem_n = 0
        self.unstable_n = 0
        self.lowbatt_n = 0
        self.printer_faults = 0
        self.paper_out = 0
        self.signal_n = 0
        self.signal_sum = 0.0
        self.weak_n = 0
        self.net_trouble_n = 0
        self.exits: dict[str, int] = {}
        self.starts = 0
        self.sessions: dict[str, list[int]] = {}  # app_version -> [sessions, crashed sessions]
        # per day (epoch day): [card reads, card read errors, prints, printer faults, flows]
        self.days: dict[int, list[int]] = {}
        self.ops: dict[str, list[int]] = {}  # operator -> [flows, episodes]
        self.trained: set[str] = set()
        self.maintenance: list[tuple[float, str]] = []
        self.versions: list[tuple[float, str | None, str]] = []  # (t, old, new) app changes
        self.mismatches = 0
        self.mismatch_fields: dict[str, int] = {}
        self.params_applied: list[tuple[float, str]] = []
        self.trouble: list[float] = []  # times of network trouble (for merchant clustering)
        self.crashes: list[Crash] = []
        self.episodes: list[Episode] = []

    # ----------------------------------------------------------------- flow bookkeeping
    def _day(self, t: float) -> list[int]:
        key = int(t // 86400)
        row = self.days.get(key)
        if row is None:
            row = self.days[key] = [0, 0, 0, 0, 0]
        return row

    def _start_flow(self, t: float, ts: str) -> None:
        self.in_flow = True
        self.flow_t0 = t
        self.flow_ts0 = ts
        self.screen = ""
        self.had_result = False
        self.cancelled = False
        self.f_cards = []
        self.f_pins = []
        self.f_phases = []
        self.f_rcs = []
        self.f_printer = None
        self.flows += 1
        self._day(t)[4] += 1
        op = self.operator
        if op is not None:
            row = self.ops.get(op)
            if row is None:
                row = self.ops[op] = [0, 0]
            row[0] += 1

    def _end_flow(
        self, t: float, ts: str, kind: str, exception: str | None = None,
        frames: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.in_flow = False
        if self.had_result or self.cancelled:
            return
        ep = Episode(self.tid, self.flow_t0, t, self.flow_ts0, ts, self.screen or "card")
        ep.end_kind = kind
        ep.exception = exception
        ep.frames = frames
        ep.version = self.app_version
        ep.operator = self.operator
        ep.phases = tuple(self.f_phases)
        ep.rcs = tuple(self.f_rcs)
        ep.card_errors = tuple(self.f_cards)
        ep.pins = tuple(self.f_pins)
        ep.printer = self.f_printer
        since = t - WINDOW_S
        latest = None
        for row in reversed(self.health):
            if row[0] > t:
                continue
            if latest is None:
                latest = row
            if row[0] < since:
                break
            self._absorb(ep, row)
        if ep.temp_max is None and latest is not None and latest[0] >= t - 4 * WINDOW_S:
            self._absorb(ep, latest)
        net_since = t - NET_WINDOW_S
        for nt, event, signal in reversed(self.net):
            if nt < net_since:
                break
            if nt <= t:
                if event in _NET_TROUBLE:
                    ep.net_trouble += 1
                if signal is not None and (ep.signal_min is None or signal < ep.signal_min):
                    ep.signal_min = signal
        # a burst: swipe read errors of the other flows of the last minutes (not this one's)
        burst_since = t - BURST_WINDOW_S
        for ct, method, error in reversed(self.cards):
            if ct < burst_since:
                break
            if ct < self.flow_t0 and method == "swipe" and error in ("bad_read", "lrc"):
                ep.swipe_burst += 1
        ep.params_recent = t - self.mismatch_t <= PARAMS_WINDOW_S
        self.episodes.append(ep)
        if self.operator is not None and self.operator in self.ops:
            self.ops[self.operator][1] += 1

    @staticmethod
    def _absorb(ep: Episode, row: tuple) -> None:
        _, temp, mem, mem_total, battery, power, printer, signal = row
        if temp is not None and (ep.temp_max is None or temp > ep.temp_max):
            ep.temp_max = temp
        if mem is not None and (ep.mem_min is None or mem < ep.mem_min):
            ep.mem_min = mem
            ep.mem_total = mem_total
        if battery is not None and (ep.battery_min is None or battery < ep.battery_min):
            ep.battery_min = battery
        if power == "unstable":
            ep.power_unstable = True
        if printer in _BAD_PRINTER or printer == "paper_out" and ep.printer is None:
            ep.printer = printer
        if signal is not None and (ep.signal_min is None or signal < ep.signal_min):
            ep.signal_min = signal

    # ----------------------------------------------------------------- event handlers
    def on_screen(self, t: float, ev: dict) -> None:
        screen = ev.get("screen")
        if screen in FLOW_SCREENS:
            if not self.in_flow or (
                (self.had_result or self.cancelled) and screen in ("amount", "card")
            ):
                self._start_flow(t, _ts(ev, t))
            self.screen = screen
            if screen == "receipt":
                self._day(t)[2] += 1
        elif screen == "result":
            if self.in_flow:
                self.had_result = True
                self.results += 1
        elif screen == "idle" and self.in_flow:
            self._end_flow(t, _ts(ev, t), "idle")

    def on_card(self, t: float, ev: dict) -> None:
        if not self.in_flow or self.had_result or self.cancelled:
            self._start_flow(t, _ts(ev, t))
            self.screen = "card"
        method = str(ev.get("method") or "")
        ok = ev.get("ok")
        error = ev.get("error")
        self.card_reads += 1
        day = self._day(t)
        day[0] += 1
        if method == "swipe":
            self.swipe_reads += 1
        if ok is False or (error and ok is not True):
            error = str(error or "bad_read")
            self.card_errors[error] = self.card_errors.get(error, 0) + 1
            self.f_cards.append((method, error))
            self.cards.append((t, method, error))
            if error in _READ_ERRORS:
                day[1] += 1
                if method == "swipe":
                    self.swipe_errors += 1

    def on_pin(self, t: float, ev: dict) -> None:
        outcome = str(ev.get("outcome"))
        self.pin_outcomes[outcome] = self.pin_outcomes.get(outcome, 0) + 1
        if self.in_flow:
            if outcome == "cancelled":
                self.cancelled = True
            self.f_pins.append(outcome)

    def on_txn(self, t: float, ev: dict) -> None:
        phase = ev.get("phase")
        if phase == "sent":
            self.txns += 1
        elif phase == "response":
            rc = ev.get("rc")
            if rc is not None:
                rc = str(rc).upper()
                self.rc[rc] = self.rc.get(rc, 0) + 1
                if self.in_flow:
                    self.f_rcs.append(rc)
        elif phase in ("timeout", "conn_fail", "mac_fail"):
            if phase == "timeout":
                self.timeouts += 1
            elif phase == "conn_fail":
                self.conn_fails += 1
            else:
                self.mac_fails += 1
            if phase != "mac_fail" and len(self.trouble) < MAX_TROUBLE:
                self.trouble.append(t)
            if self.in_flow:
                self.f_phases.append(phase)

    def on_net(self, t: float, ev: dict) -> None:
        event = str(ev.get("event"))
        signal = _num(ev.get("signal_dbm"))
        self.net.append((t, event, signal))
        if event in _NET_TROUBLE:
            self.net_trouble_n += 1
            if len(self.trouble) < MAX_TROUBLE:
                self.trouble.append(t)
        if signal is not None:
            self._signal(signal)

    def _signal(self, signal: float) -> None:
        self.signal_n += 1
        self.signal_sum += signal
        if signal < WEAK_SIGNAL_DBM:
            self.weak_n += 1

    def on_health(self, t: float, ev: dict) -> None:
        temp = _num(ev.get("cpu_temp_c"))
        mem = _num(ev.get("mem_free_mb"))
        mem_total = _num(ev.get("mem_total_mb"))
        battery = _num(ev.get("battery_pct"))
        signal = _num(ev.get("signal_dbm"))
        power = ev.get("power")
        printer = ev.get("printer")
        self.health.append((t, temp, mem, mem_total, battery, power, printer, signal))
        self.health_n += 1
        if temp is not None:
            if self.temp_max is None or temp > self.temp_max:
                self.temp_max = temp
            if temp > HOT_C:
                self.hot_n += 1
        if mem is not None and mem <= _low_mem(mem_total):
            self.lowmem_n += 1
        if power == "unstable":
            self.unstable_n += 1
        if battery is not None and battery <= 5 and power != "ac":
            self.lowbatt_n += 1
        if printer in _BAD_PRINTER:
            self.printer_faults += 1
            self._day(t)[3] += 1
            if self.in_flow:
                self.f_printer = printer
        elif printer == "paper_out":
            self.paper_out += 1
            if self.in_flow and self.f_printer is None:
                self.f_printer = printer
        if signal is not None:
            self._signal(signal)

    def on_app(self, t: float, ev: dict) -> None:
        event = ev.get("event")
        version = ev.get("app_version")
        version = str(version) if version is not None else None
        if event == "start":
            self.starts += 1
            if self.in_flow:
                self._end_flow(t, _ts(ev, t), "restart")
            if self.session_open:
                self._close_session(False)  # no exit logged: counted, not as a crash
            if version is not None and version != self.app_version:
                self.versions.append((t, self.app_version, version))
                self.app_version = version
            self.session_open = True
            self.session_version = self.app_version
        elif event == "exit":
            reason = str(ev.get("reason") or "unknown")
            self.exits[reason] = self.exits.get(reason, 0) + 1
            if version is not None and self.app_version is None:
                self.app_version = version
            exception = ev.get("exception")
            exception = str(exception) if exception else None
            frames = _frames(ev.get("frames"))
            crashed = reason in CRASH_REASONS
            if crashed and len(self.crashes) < MAX_CRASHES:
                self.crashes.append(
                    Crash(t, reason, exception, frames, version or self.app_version, self.in_flow)
                )
            if reason != "normal" and self.in_flow:
                self._end_flow(t, _ts(ev, t), reason, exception, frames)
            if self.session_open:
                self.session_version = version or self.session_version
                self._close_session(crashed)
            elif crashed:
                self.session_version = version or self.app_version
                self._close_session(True)

    def _close_session(self, crashed: bool) -> None:
        key = self.session_version or self.app_version or "unknown"
        row = self.sessions.get(key)
        if row is None:
            row = self.sessions[key] = [0, 0]
        row[0] += 1
        if crashed:
            row[1] += 1
        self.session_open = False

    def on_inventory(self, t: float, ev: dict) -> None:
        self.has_inventory = True
        for key in ("brand", "model", "firmware", "params_version", "mid"):
            value = ev.get(key)
            if value is not None:
                setattr(self, key, str(value))
        if "last_maintenance" in ev:
            value = ev.get("last_maintenance")
            if isinstance(value, str) and len(value) >= 10:
                if self.last_maintenance is None or value[:10] > self.last_maintenance:
                    self.last_maintenance = value[:10]
            elif value is None and self.last_maintenance is None:
                self.maint_null = True
        version = ev.get("app_version")
        if version is not None and self.app_version is None:
            self.app_version = str(version)

    def on_params(self, t: float, ev: dict) -> None:
        event = ev.get("event")
        version = ev.get("version")
        if event == "applied" and version is not None:
            self.params_version = str(version)
            if len(self.params_applied) < 64:
                self.params_applied.append((t, str(version)))
        elif event == "mismatch":
            self.mismatches += 1
            self.mismatch_t = t
            fld = str(ev.get("field") or "?")
            self.mismatch_fields[fld] = self.mismatch_fields.get(fld, 0) + 1

    def on_operator(self, t: float, ev: dict) -> None:
        if ev.get("event") == "logout":
            self.operator = None
            return
        op = ev.get("operator")
        self.operator = str(op) if op is not None else None

    def on_training(self, t: float, ev: dict) -> None:
        op = ev.get("operator")
        if op is not None:
            self.trained.add(str(op))

    def on_maintenance(self, t: float, ev: dict) -> None:
        kind = str(ev.get("kind") or "")
        if len(self.maintenance) < 64:
            self.maintenance.append((t, kind))
        if kind in ("cleaning", "inspection", "part_replaced"):
            day = format_ts(t)[:10]
            if self.last_maintenance is None or day > self.last_maintenance:
                self.last_maintenance = day

    def finish(self) -> None:
        """End of input: an unfinished flow is not an episode; an open session is counted."""
        self.in_flow = False
        if self.session_open:
            self._close_session(False)


def _ts(ev: dict, t: float) -> str:
    ts = ev.get("ts")
    return ts if isinstance(ts, str) else format_ts(t)


def _low_mem(total: float | None) -> float:
    """'Near zero' free memory: 3 % of the total, at least 32 MB."""
    return max(32.0, 0.03 * total) if total else 32.0


HANDLERS = {
    "health": Terminal.on_health,
    "screen": Terminal.on_screen,
    "txn": Terminal.on_txn,
    "card": Terminal.on_card,
    "pin": Terminal.on_pin,
    "net": Terminal.on_net,
    "app": Terminal.on_app,
    "inventory": Terminal.on_inventory,
    "params": Terminal.on_params,
    "operator": Terminal.on_operator,
    "training": Terminal.on_training,
    "maintenance": Terminal.on_maintenance,
}


class Tracker:
    """Feeds events to their terminal's state machine (terminals may be interleaved freely)."""

    def __init__(self) -> None:
        self.terminals: dict[str, Terminal] = {}
        self.bad_values = 0

    def feed(self, t: float, ev: dict) -> bool:
        """Apply one event; False when a known event type had values it could not use."""
        handler = HANDLERS.get(ev["type"])
        if handler is None:
            return True  # unknown type: ignored
        tid = ev["tid"]
        term = self.terminals.get(tid)
        if term is None:
            term = self.terminals[tid] = Terminal(tid)
            term.first_t = t
        if t < term.last_t:
            term.out_of_order += 1
        else:
            term.last_t = t
        try:
            handler(term, t, ev)
        except (TypeError, ValueError, AttributeError, KeyError):
            self.bad_values += 1
            return False
        return True

    def finish(self) -> list[Terminal]:
        for term in self.terminals.values():
            term.finish()
        return [self.terminals[k] for k in sorted(self.terminals)]
