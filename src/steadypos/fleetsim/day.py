"""A simulated terminal's working day: opening, shifts, health readings every ten minutes, the
day's events (a release installed, parameters applied) and flows until closing."""

from __future__ import annotations

from collections.abc import Iterator

from steadypos.eventlog import AppEvent, EventType, ExitReason, MaintenanceKind, ParamsEvent
from steadypos.fleetsim.catalog import BAD_RELEASE
from steadypos.fleetsim.flow import flow
from steadypos.fleetsim.plan import Fleet, Plan, day_t
from steadypos.fleetsim.terminal import Aborted, Down, Event, TerminalSim

HOUR_MULT = (0.5, 0.7, 1.0, 1.6, 1.8, 1.2, 0.8, 0.8, 1.0, 1.4, 1.7, 1.5, 1.0, 0.7)  # busyness
HEALTH_EVERY_S = 600.0


class TerminalDay:
    """One day of one terminal (`run` returns its events in time order)."""

    def __init__(self, sim: TerminalSim, day: int) -> None:
        self.sim = sim
        self.day = day
        self.base = day_t(day)
        rng = sim.rng
        self.t_open = self.base + 3600 * rng.uniform(0.8, 1.6)
        self.t_close = self.base + 3600 * rng.uniform(13.0, 13.8)

    def _windows(self) -> None:
        sim, rng, label = self.sim, self.sim.rng, self.sim.p.label
        if label == "hardware_power":
            for _ in range(rng.randint(1, 3)):
                a = self.base + 3600 * rng.uniform(1.5, 12.5)
                sim.unstable.append((a, a + 60 * rng.uniform(15, 70)))
        if label == "environment_interference":
            for _ in range(rng.randint(3, 6)):  # a motor / magnet nearby runs on and off
                a = self.base + 3600 * rng.uniform(1.5, 12.5)
                sim.interference.append((a, a + 60 * rng.uniform(20, 60)))

    def _shifts(self) -> list[str]:
        p, rng = self.sim.p, self.sim.rng
        ops = p.operators
        shifts = [ops[0]] if len(ops) == 1 else rng.sample(ops, 2)
        if p.label == "training_gap" and len(shifts) == 2 and shifts[0] not in p.careless:
            shifts.reverse()
        return shifts

    def _health_until(self, t: float, next_health: float) -> float:
        sim, rng = self.sim, self.sim.rng
        while next_health < min(t, self.t_close):
            sim.heat(next_health, HEALTH_EVERY_S)
            if sim.p.dead_battery:
                sim.battery = max(0.0, sim.battery - rng.uniform(2.5, 5))
            sim.health(next_health)
            next_health += HEALTH_EVERY_S + rng.uniform(-20, 20)
        return next_health

    def _install(self, t: float) -> float:
        sim = self.sim
        sim.emit(t, EventType.MAINTENANCE, kind=MaintenanceKind.SOFTWARE_UPDATE)
        sim.emit(t + 1, EventType.APP, event=AppEvent.EXIT, app_version=sim.version,
                 reason=ExitReason.NORMAL)  # fmt: skip
        sim.version = BAD_RELEASE
        return sim.start_app(t + 40, False)

    def _apply_params(self, t: float) -> float:
        sim = self.sim
        sim.params = sim.p.new_params
        sim.emit(t, EventType.PARAMS, event=ParamsEvent.APPLIED, version=sim.params)
        sim.mismatched = True
        sim.sign_in(t + 1)
        return t + 3

    def run(self) -> list[Event]:
        sim, p, rng = self.sim, self.sim.p, self.sim.rng
        sim.events = []
        self._windows()
        shifts = self._shifts()
        sim.operator = shifts[0]
        if self.day == 0:
            for op in sorted(p.trained):
                sim.emit(self.t_open - 600, EventType.TRAINING, operator=op,
                         course=rng.choice(("basic", "new_features")))  # fmt: skip
        t = sim.start_app(self.t_open, True)
        t_up = self.t_open + 3600 * rng.uniform(0.5, 3) if p.install_day == self.day else None
        t_params = self.t_open + 3600 * rng.uniform(0.5, 6) if p.params_day == self.day else None
        next_health = t + 5
        shift_change = self.base + 3600 * 7.0 if len(shifts) == 2 else None
        while True:
            hour = int((t - self.base) / 3600)
            t_next = t + rng.expovariate(p.rate * HOUR_MULT[min(hour, 13)] / 3600)
            next_health = self._health_until(t_next, next_health)
            if t_next >= self.t_close:
                break
            t = max(t_next, sim.up_at)
            if shift_change is not None and t > shift_change:
                sim.emit(t, EventType.OPERATOR, event="logout", operator=sim.operator)
                sim.operator = shifts[1]
                sim.emit(t + 1, EventType.OPERATOR, event="login", operator=sim.operator)
                shift_change = None
                t += 2
            if t_up is not None and t > t_up:
                t, t_up = self._install(t), None
            if t_params is not None and t > t_params:
                t, t_params = self._apply_params(t), None
            try:
                t = flow(sim, t, self.day)
            except Down:
                t = sim.up_at
            except Aborted as ab:
                t = ab.t
        self._close()
        sim.events.sort(key=lambda e: (e[0], e[1]))
        return sim.events

    def _close(self) -> None:
        sim = self.sim
        if sim.operator:
            sim.emit(self.t_close, EventType.OPERATOR, event="logout", operator=sim.operator)
        sim.emit(self.t_close + 1, EventType.APP, event=AppEvent.EXIT, app_version=sim.version,
                 reason=ExitReason.NORMAL)  # fmt: skip
        if sim.p.dead_battery:
            sim.battery = 100.0  # charged overnight


def terminal_events(plan: Plan, fleet: Fleet, seed: int) -> Iterator[Event]:
    """One terminal's events over the whole window, in time order."""
    sim = TerminalSim(plan, fleet, seed)
    for day in range(fleet.days):
        yield from TerminalDay(sim, day).run()
