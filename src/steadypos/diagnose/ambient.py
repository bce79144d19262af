"""What a terminal's surroundings log (health, network, inventory, parameters, operators,
training, maintenance), read into its TerminalRecord: the half of the tracker beside the flows."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from steadypos.diagnose.records import DayCounts, Inventory, NetSample, Reading, Tallies, Visit
from steadypos.diagnose.taxonomy import HOT_C, WEAK_SIGNAL_DBM
from steadypos.eventlog import (
    NET_TROUBLE,
    PRINTER_FAULTS,
    MaintenanceKind,
    ParamsEvent,
    Power,
    PrinterState,
    format_ts,
)

if TYPE_CHECKING:
    from steadypos.diagnose.episodes import OpenFlow

MAX_TROUBLE = 2000  # network trouble times kept per terminal (for merchant clustering)
MAX_KEPT = 64  # maintenance visits and parameter changes kept per terminal
LOW_BATTERY_PCT = 5  # "battery near 0"
SERVICE_KINDS = (MaintenanceKind.CLEANING, MaintenanceKind.INSPECTION,
                 MaintenanceKind.PART_REPLACED)  # fmt: skip
# Plain strs on the hot path: looking up an enum member costs several times the compare.
_APPLIED = str(ParamsEvent.APPLIED)
_MISMATCH = str(ParamsEvent.MISMATCH)
_AC = str(Power.AC)
_UNSTABLE = str(Power.UNSTABLE)
_PAPER_OUT = str(PrinterState.PAPER_OUT)
_NET_TROUBLE = frozenset(map(str, NET_TROUBLE))
_PRINTER_FAULTS = frozenset(map(str, PRINTER_FAULTS))


def number(value: object) -> float | None:
    """A reading as float, or None when absent / not a number (tolerant of odd logs)."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if value is None or kind is bool:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def low_memory(total: float | None) -> float:
    """'Near zero' free memory: 3 % of the total, at least 32 MB."""
    return max(32.0, 0.03 * total) if total else 32.0


class AmbientEvents:
    """The handlers of the events around the flows; TerminalRecord holds the state (slots)."""

    if not TYPE_CHECKING:  # the state lives in TerminalRecord's slots; mypy reads the names below
        __slots__ = ()
    tid: str
    inv: Inventory
    app_version: str | None
    flow: OpenFlow | None
    health: deque[Reading]
    net: deque[NetSample]
    mismatch_t: float
    operator: str | None
    n: Tallies
    days: dict[int, DayCounts]
    trained: set[str]
    maintenance: list[Visit]
    params_applied: list[tuple[float, str]]
    trouble: list[float]
    first_maint: str | None
    first_maint_t: float | None  # when a maintenance event gave first_maint (None: inventory)

    def day(self, t: float) -> DayCounts:
        key = int(t // 86400)
        row = self.days.get(key)
        if row is None:
            row = self.days[key] = DayCounts()
        return row

    def on_net(self, t: float, ev: dict) -> None:
        event = str(ev.get("event"))
        signal = number(ev.get("signal_dbm"))
        self.net.append(NetSample(t, event, signal))
        if event in _NET_TROUBLE:
            self.n.net_trouble += 1
            if len(self.trouble) < MAX_TROUBLE:
                self.trouble.append(t)
        if signal is not None:
            self._signal(signal)

    def _signal(self, signal: float) -> None:
        n = self.n
        n.signal += 1
        n.signal_sum += signal
        if signal < WEAK_SIGNAL_DBM:
            n.weak += 1

    def on_health(self, t: float, ev: dict) -> None:
        r = Reading(t, number(ev.get("cpu_temp_c")), number(ev.get("mem_free_mb")),
                    number(ev.get("mem_total_mb")), number(ev.get("battery_pct")),
                    ev.get("power"), ev.get("printer"), number(ev.get("signal_dbm")))
        self.health.append(r)
        n = self.n
        n.health += 1
        if r.temp is not None:
            if n.temp_max is None or r.temp > n.temp_max:
                n.temp_max = r.temp
            if r.temp > HOT_C:
                n.hot += 1
        if r.mem_free is not None and r.mem_free <= low_memory(r.mem_total):
            n.low_mem += 1
        if r.power == _UNSTABLE:
            n.unstable += 1
        if r.battery is not None and r.battery <= LOW_BATTERY_PCT and r.power != _AC:
            n.low_battery += 1
        flow = self.flow
        if r.printer in _PRINTER_FAULTS:
            n.printer_faults += 1
            self.day(t).printer_faults += 1
            if flow is not None:
                flow.printer = r.printer
        elif r.printer == _PAPER_OUT:
            n.paper_out += 1
            if flow is not None and flow.printer is None:
                flow.printer = r.printer
        if r.signal is not None:
            self._signal(r.signal)

    def on_inventory(self, t: float, ev: dict) -> None:
        inv = self.inv
        inv.seen = True
        for key in ("brand", "model", "firmware", "params_version", "mid"):
            value = ev.get(key)
            if value is not None:
                setattr(inv, key, str(value))
        if "last_maintenance" in ev:
            value = ev.get("last_maintenance")
            if isinstance(value, str) and len(value) >= 10:
                self._maintained(value[:10])
            elif value is None and inv.last_maintenance is None:
                inv.maint_null = True
        version = ev.get("app_version")
        if version is not None and self.app_version is None:
            self.app_version = str(version)

    def _maintained(self, day: str, t: float | None = None) -> None:
        if self.first_maint is None:
            self.first_maint, self.first_maint_t = day, t
        if self.inv.last_maintenance is None or day > self.inv.last_maintenance:
            self.inv.last_maintenance = day

    def on_params(self, t: float, ev: dict) -> None:
        event = ev.get("event")
        version = ev.get("version")
        if event == _APPLIED and version is not None:
            self.inv.params_version = str(version)
            if len(self.params_applied) < MAX_KEPT:
                self.params_applied.append((t, str(version)))
        elif event == _MISMATCH:
            n = self.n
            n.mismatches += 1
            self.mismatch_t = t
            fld = str(ev.get("field") or "?")
            n.mismatch_fields[fld] = n.mismatch_fields.get(fld, 0) + 1

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
        if len(self.maintenance) < MAX_KEPT:
            self.maintenance.append(Visit(t, kind, self.n.flows))
        if kind in SERVICE_KINDS:
            self._maintained(format_ts(t)[:10], t)
