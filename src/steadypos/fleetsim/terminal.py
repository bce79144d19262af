"""One simulated terminal's state and what it writes: events, health readings (temperature with
thermal inertia, memory, battery), app starts and exits, sign-in."""

from __future__ import annotations

import math
import random

from steadypos.eventlog import (
    AppEvent,
    EventType,
    ExitReason,
    NetEvent,
    ParamsEvent,
    Power,
    PrinterState,
    Screen,
    TxnKind,
    TxnPhase,
    format_ts,
)
from steadypos.fleetsim.catalog import APP_PKG
from steadypos.fleetsim.plan import Fleet, Plan, Window

Crash = tuple[str, tuple[str, ...]]  # (exception, frames innermost first)
Event = tuple[float, int, dict[str, object]]  # (epoch seconds, sequence, the event)
HANG = ("ANR Input dispatching timed out",
        ("java.net.SocketInputStream.socketRead0", f"{APP_PKG}.net.HostLink.receive"))  # fmt: skip


class Down(Exception):
    """The app went away in the middle of a flow."""


class Aborted(Exception):
    """The flow was given up (back to idle); the terminal carries on at `t`."""

    def __init__(self, t: float) -> None:
        self.t = t


def covers(windows: list[Window], t: float) -> bool:
    return any(a <= t < b for a, b in windows)


class TerminalSim:
    """One terminal's physics and log, day by day (the day loop is in day.py)."""

    def __init__(self, plan: Plan, fleet: Fleet, seed: int) -> None:
        self.p = plan
        self.fleet = fleet
        self.rng = random.Random(f"sim:{seed}:{plan.tid}")
        self.events: list[Event] = []
        self.seq = 0
        self.version = plan.version
        self.params = plan.params
        self.temp = plan.ambient
        self.mem_free = plan.mem_total * 0.45
        self.battery = 100.0
        self.recent: list[float] = []  # flow start times (load)
        self.up_at = 0.0  # app usable again from this time
        self.stan = 0
        self.operator: str | None = None
        self.outages = fleet.outages.get(plan.mid, [])
        self.unstable: list[Window] = []
        self.interference: list[Window] = []
        self.mismatched = plan.label == "parameter_mismatch" and plan.params_day < 0

    # ---------------------------------------------------------------- emitting
    def emit(self, t: float, type_: EventType, **keys: object) -> None:
        self.seq += 1
        ev: dict[str, object] = {"ts": format_ts(t), "tid": self.p.tid, "type": type_}
        ev.update(keys)
        self.events.append((t, self.seq, ev))

    def screen(self, t: float, name: Screen) -> None:
        self.emit(t, EventType.SCREEN, screen=name)

    def health(self, t: float, printer: PrinterState = PrinterState.OK) -> None:
        p = self.p
        power = Power.AC
        if covers(self.unstable, t):
            power = Power.UNSTABLE
        elif p.dead_battery and self.battery < 100:
            power = Power.BATTERY
        self.emit(
            t, EventType.HEALTH, mem_free_mb=int(max(1, self.mem_free)),
            mem_total_mb=p.mem_total, cpu_temp_c=round(self.temp, 1),
            battery_pct=int(max(0, self.battery)), power=power, printer=printer,
            signal_dbm=int(round(p.signal + self.rng.gauss(0, 2.5))),
            storage_free_mb=int(800 + self.rng.uniform(-50, 50)),
        )  # fmt: skip

    def fault(self) -> None:
        """This flash-exit is the terminal's fault showing (counted for the ground truth)."""
        self.p.fault_episodes += 1

    # ---------------------------------------------------------------- physics
    def load(self, t: float) -> int:
        self.recent = [x for x in self.recent if x > t - 1800]
        return len(self.recent)

    def heat(self, t: float, dt: float) -> None:
        hour = (t % 86400) / 3600
        target = self.p.ambient + self.p.heat_k * self.load(t) + 3 * math.sin((hour - 2) / 4)
        self.temp += (target - self.temp) * (1 - math.exp(-dt / 900))
        self.temp += self.rng.gauss(0, 0.6)

    def in_outage(self, t: float) -> bool:
        return covers(self.outages, t)

    def host_slow(self, t: float) -> bool:
        a, b = self.fleet.host_slow
        return a <= t < b

    # ---------------------------------------------------------------- app lifecycle
    def start_app(self, t: float, first: bool) -> float:
        p = self.p
        self.emit(t, EventType.APP, event=AppEvent.START, app_version=self.version)
        self.mem_free = p.mem_total * (0.45 + self.rng.uniform(-0.05, 0.05))
        if first and self.rng.random() < 0.97:
            self.emit(
                t + 0.2, EventType.INVENTORY, brand=p.brand, model=p.model, firmware=p.firmware,
                app_version=self.version, params_version=self.params, mid=p.mid,
                last_maintenance=p.last_maintenance,
            )  # fmt: skip
        t += 1.0
        self.emit(t, EventType.NET, event=NetEvent.UP, signal_dbm=int(p.signal), latency_ms=60)
        t += 0.5
        self.sign_in(t)
        t += 1.5
        if self.operator:
            self.emit(t, EventType.OPERATOR, event="login", operator=self.operator)
        self.screen(t + 0.5, Screen.IDLE)
        return t + 1.0

    def sign_in(self, t: float) -> None:
        self.stan += 1
        self.emit(t, EventType.TXN, kind=TxnKind.SIGN_IN, stan=self.stan, phase=TxnPhase.SENT)
        if self.mismatched:
            self.emit(t + 0.3, EventType.PARAMS, event=ParamsEvent.MISMATCH, version=self.params,
                      field=self.rng.choice(("keys", "mid", "tpdu", "tid")))  # fmt: skip
            rc = self.rng.choice(("A0", "03", "97"))
        else:
            rc = "00"
        self.emit(t + 0.6, EventType.TXN, kind=TxnKind.SIGN_IN, stan=self.stan,
                  phase=TxnPhase.RESPONSE, rc=rc, latency_ms=600)  # fmt: skip

    def go_down(self, t: float, reason: ExitReason, exc: Crash | None,
                logged: bool = True) -> None:  # fmt: skip
        """The app exits (logged or not), comes back a minute or more later; the flow is lost."""
        if logged:
            keys: dict[str, object] = {"event": AppEvent.EXIT, "app_version": self.version,
                                       "reason": reason}  # fmt: skip
            if exc is not None:
                keys["exception"] = exc[0]
                keys["frames"] = list(exc[1])
            self.emit(t, EventType.APP, **keys)
        pause = self.rng.uniform(40, 150) if reason != ExitReason.POWER_LOSS \
            else self.rng.uniform(90, 400)  # fmt: skip
        self.up_at = t + pause
        self.temp -= self.rng.uniform(2, 6)
        self.start_app(self.up_at, False)
        self.up_at += 3
        raise Down
