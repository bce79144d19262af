"""The physical terminal: memory, heat, battery and mains, radio, printer paper and reader wear.

State moves with time (heat soaks and decays, memory leaks, batteries drain and charge, the radio
wanders around its site's level) and with work (every sale heats the CPU and leaks a little).
A health reading is a snapshot of this state.
"""

from __future__ import annotations

import math
import random

DAY_MS = 86_400_000
LOCAL_MS = 8 * 3_600_000  # the fleet works on China time; the log is UTC


def bump(h: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((h - centre) / width) ** 2)


class Device:
    def __init__(self, rng: random.Random, form: str, mem_total: int, storage_mb: int,
                 radio: str, spot: str):
        self.rng = rng
        self.form, self.radio_kind, self.spot = form, radio, spot
        self.mem_total = mem_total
        self.boot_free = mem_total * rng.uniform(0.28, 0.42)
        self.leak_min = rng.uniform(0.02, 0.06)  # MB a minute
        self.leak_txn = rng.uniform(0.1, 0.4)  # MB a flow
        self.leak = 0.0
        self.storage_free = storage_mb * rng.uniform(0.3, 0.7)
        self.storage_drain = rng.uniform(2, 12)  # MB a day of logs and receipts
        self.temp_offset = rng.uniform(12, 16)
        self.g_fast, self.g_slow = rng.uniform(0.8, 1.4), rng.uniform(0.1, 0.2)
        self.heat_fast = self.heat_slow = 0.0
        self.sun = 1.0  # today's sunshine on outdoor terminals
        self.sun_lo = 0.3
        self.sun_gain = 18.0
        self.has_battery = form == "handheld"
        self.battery = rng.uniform(70, 100) if self.has_battery else 100.0
        self.drain_min = rng.uniform(0.08, 0.15)
        self.drain_txn = rng.uniform(0.1, 0.2)
        self.charge_min = rng.uniform(0.6, 1.0)
        self.dock_at = rng.uniform(25, 40)
        self.on_ac = not self.has_battery
        self.unstable = False
        hi, lo = (-62, -92) if radio == "cell" else (-40, -70)
        self.signal_base = rng.uniform(lo, hi)
        self.signal_sigma = 3.0
        self.signal = self.signal_base
        self.radio_t = 0
        self.rtt_base = rng.uniform(160, 420)
        self.printer = "ok"
        self.printer_until = 0
        self.paper_left = rng.randint(40, 200)
        self.wear0, self.wear_slope = rng.uniform(0.003, 0.012), 0.0
        self.t = 0
        self.window_start = 0

    # -- time ---------------------------------------------------------------------------------
    def hour(self, t: int) -> float:
        return ((t + LOCAL_MS) % DAY_MS) / 3_600_000

    def ambient(self, t: int) -> float:
        h = self.hour(t)
        if self.spot == "kitchen":
            return 26 + 9 * bump(h, 12.3, 1.2) + 10 * bump(h, 18.8, 1.5)
        if self.spot == "outdoor":
            return 13 + self.sun_gain * self.sun * bump(h, 13.5, 2.5)
        return 23 + 2 * bump(h, 15, 4)

    def advance(self, t: int) -> None:
        if t - self.t < 4000:  # nothing measurable moves in a few seconds; catch up later
            return
        dt = (t - self.t) / 60_000
        self.t = t
        self.leak += self.leak_min * dt
        self.heat_fast *= math.exp(-dt / 8)
        self.heat_slow *= math.exp(-dt / 90)
        self.storage_free = max(5.0, self.storage_free - self.storage_drain * dt / 1440)
        if self.has_battery:
            if self.on_ac:
                self.battery = min(100.0, self.battery + self.charge_min * dt)
                if self.battery >= 96 and self.rng.random() < 0.5:
                    self.on_ac = False
            else:
                self.battery = max(0.0, self.battery - self.drain_min * dt)
                if self.battery < self.dock_at:
                    self.on_ac = True
        if self.printer != "ok" and t >= self.printer_until:
            self.printer = "ok"

    def radio(self) -> float:
        """The signal now: an Ornstein-Uhlenbeck walk around the site's level, moved on demand."""
        dt = (self.t - self.radio_t) / 60_000
        if dt > 0.05:
            self.radio_t = self.t
            a = 1 - math.exp(-min(dt, 600) / 20)
            target = self.signal_base - (4 * bump(self.hour(self.t), 18.5, 1.5)
                                         if self.radio_kind == "cell" else 0)
            self.signal += a * (target - self.signal) + self.signal_sigma * math.sqrt(a) * \
                self.rng.gauss(0, 1)
        return self.signal

    def dbm(self) -> int:
        return int(round(self.radio()))

    # -- work ---------------------------------------------------------------------------------
    def work(self, printed: bool) -> None:
        self.heat_fast += 1.0 + 0.6 * printed
        self.heat_slow += 1.0 + 0.6 * printed
        self.leak += self.leak_txn
        if self.has_battery and not self.on_ac:
            self.battery = max(0.0, self.battery - self.drain_txn * (1 + printed))

    def app_restart(self) -> None:
        self.leak *= 0.15

    def night(self, rng: random.Random) -> None:
        """Off overnight: cooled down, memory clean, battery charged on the dock."""
        self.leak = 0.0
        self.heat_fast = self.heat_slow = 0.0
        if self.has_battery:
            self.battery = rng.uniform(85, 100)
            self.on_ac = False
        self.sun = rng.uniform(self.sun_lo, 1.0)
        self.printer = "ok"

    # -- readings -----------------------------------------------------------------------------
    def mem_free(self) -> float:
        return max(2.0 + self.rng.random() * 3, self.boot_free - self.leak + self.rng.gauss(0, 4))

    def temp(self) -> float:
        return (self.ambient(self.t) + self.temp_offset + self.g_fast * self.heat_fast
                + self.g_slow * self.heat_slow + self.rng.gauss(0, 0.8))

    def wear(self) -> float:
        return self.wear0 + self.wear_slope * (self.t - self.window_start) / DAY_MS

    def rtt(self) -> int:
        weak = max(0.0, -self.radio() - 90) * 45
        return int(self.rtt_base * math.exp(self.rng.gauss(0, 0.3)) + weak)

    def power(self) -> str:
        if self.unstable:
            return "unstable"
        return "ac" if self.on_ac else "battery"

    def reading(self) -> dict:
        return {
            "mem_free_mb": int(self.mem_free()),
            "mem_total_mb": self.mem_total,
            "cpu_temp_c": round(self.temp(), 1),
            "battery_pct": int(self.battery),
            "power": self.power(),
            "printer": self.printer,
            "signal_dbm": self.dbm(),
            "storage_free_mb": int(self.storage_free),
        }
