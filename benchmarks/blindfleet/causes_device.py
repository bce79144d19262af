"""Causes in the hardware and the place: memory, heat, power, printer, interference, wear.

These act through the device's physical state (device.py): a hook looks at free memory, the CPU
temperature, the battery or the reader's wear at that moment and decides whether the flow dies.
"""

from __future__ import annotations

from .causes import Cause, signature
from .model import Break, Flow, Window

REBOOT = (20_000, 60_000)


def _poisson_windows(cause: Cause, t_open: int, t_close: int, rate_h: float,
                     dur_s: tuple[int, int], kind: str) -> list[Window]:
    out, t = [], t_open
    while True:
        t += int(cause.rng.expovariate(rate_h) * 3.6e6)
        if t >= t_close:
            return out
        end = t + cause.rng.randint(*dur_s) * 1000
        out.append(Window(t, end, kind))
        t = end


class HardwareMemory(Cause):
    """Receipt bitmaps are never freed: free memory falls with every sale until an OOM or the
    low-memory killer ends the app; a restart frees most but not all of it."""

    label = "hardware_memory"

    def setup(self) -> None:
        dev = self.sim.dev
        dev.leak_txn = 2 + 7 * self.k
        dev.leak_min = 0.15 + 0.5 * self.k
        if self.variant == "leak_storage":
            dev.storage_free = self.rng.uniform(40, 250)
            dev.storage_drain = self.rng.uniform(30, 80)
        self.last_trim = -10**12

    def at(self, screen: str, flow: Flow) -> Break | None:
        free = self.sim.dev.mem_free()
        if free < 28 and self.sim.t - self.last_trim > 5 * 60_000:
            self.last_trim = self.sim.t  # onTrimMemory: the app reports its state at once
            self.sim.health_now()
        if free >= 28 or not self.chance(0.35 * (28 - free) / 28 + 0.1 * self.k):
            return None
        if free < 10 and self.chance(0.4):
            return Break("killed", delay_ms=(200, 900))
        name = "oom_receipt" if screen in ("receipt", "print") else "oom_card"
        exc, frames = signature(name, self.sim.spec.brand)
        exc = exc.format(free=int(free * 1048576), free_kb=int(free * 1024))
        return Break("crash", exc, frames, delay_ms=(50, 600))


class HardwareOverheat(Cause):
    """Heat soaks into a closed cabinet or a sunlit stand; above ~75 °C the SoC stalls (watchdog)
    or the system server dies."""

    label = "hardware_overheat"

    def setup(self) -> None:
        dev = self.sim.dev
        if self.variant == "sun":
            dev.temp_offset += 8 + 8 * self.k
            dev.g_slow = 0.3 + 0.4 * self.k
            dev.sun_lo = 0.75
            dev.sun_gain = 30 + 10 * self.k  # a dark housing in direct sun
        else:
            dev.temp_offset += 8 + 9 * self.k
            dev.g_slow = 0.45 + 0.6 * self.k

    def at(self, screen: str, flow: Flow) -> Break | None:
        temp = self.sim.dev.temp()
        if temp <= 75 or not self.chance(min(0.2, 0.02 * (temp - 75)) * (0.4 + 0.6 * self.k)):
            return None
        if self.chance(0.5):
            self.sim.health_now()  # the thermal service's last report
        if self.chance(0.75):
            return Break("watchdog", delay_ms=(500, 4000), reboot_ms=REBOOT)
        exc, frames = signature("thermal", self.sim.spec.brand)
        return Break("crash", exc, frames, delay_ms=(200, 1500))


class HardwarePower(Cause):
    """An aged battery that collapses under the printer's load, or a mains adapter that browns
    out: the terminal powers off mid-flow."""

    label = "hardware_power"

    def setup(self) -> None:
        dev = self.sim.dev
        if self.variant == "battery":
            dev.drain_min *= 2.5 + 3 * self.k
            dev.drain_txn *= 3
            dev.dock_at = self.rng.uniform(3, 8)
        self.last_warn = -10**12

    def windows(self, day: int, t_open: int, t_close: int) -> list[Window]:
        if self.variant != "adapter":
            return []
        return _poisson_windows(self, t_open, t_close, 0.2 + 1.2 * self.k, (180, 1500),
                                "unstable")

    def at(self, screen: str, flow: Flow) -> Break | None:
        dev = self.sim.dev
        if self.variant == "adapter":
            if self.sim.window("unstable") and self.chance(
                    (0.05 + 0.15 * self.k) * (3 if screen == "print" else 1)):
                return Break("power_loss", delay_ms=(0, 300), reboot_ms=(30_000, 90_000))
            return None
        if dev.on_ac:
            return None
        if dev.battery < 15 and self.sim.t - self.last_warn > 10 * 60_000:
            self.last_warn = self.sim.t
            self.sim.health_now()
        sag = dev.battery < 12 and screen in ("print", "online") and self.chance(
            0.08 + 0.25 * self.k)
        if dev.battery <= 1.5 or sag:
            dev.on_ac = True  # the operator puts it on the dock after it died
            return Break("power_loss", delay_ms=(0, 300), reboot_ms=(120_000, 480_000))
        return None


class HardwarePrinter(Cause):
    """A worn head or a bad paper path: the print jams or the head faults mid-receipt and the
    app's print error path drops the flow to idle (or hangs it into a watchdog reset)."""

    label = "hardware_printer"

    def at(self, screen: str, flow: Flow) -> Break | None:
        if screen != "print":
            return None
        dev = self.sim.dev
        fault = "head_fault" if self.variant == "head" else "jam"
        stuck = dev.printer in ("jam", "head_fault")
        if not self.chance(0.5 if stuck else 0.01 + 0.07 * self.k):
            return None
        if not stuck:
            dev.printer = fault
            dev.printer_until = self.sim.t + self.rng.randint(60_000, 480_000)
            self.sim.health_now()
        r = self.rng.random()
        if r < 0.2:
            return None  # the app showed "print failed" and carried on
        if r < 0.82:
            return Break(None, delay_ms=(1500, 5000))
        return Break("watchdog", delay_ms=(3000, 8000), reboot_ms=REBOOT)


class EnvironmentInterference(Cause):
    """A compressor, an anti-theft gate or static in dry air: while it is on, swipes fail in
    bursts and the board resets; temperature, memory and power stay normal."""

    label = "environment_interference"
    swipe_share = 0.35  # a market street where old magnetic-stripe cards are still common

    def windows(self, day: int, t_open: int, t_close: int) -> list[Window]:
        if self.variant == "static":
            return _poisson_windows(self, t_open, t_close, 0.3 + 0.8 * self.k, (120, 600),
                                    "interference")
        return _poisson_windows(self, t_open, t_close, 0.5 + 1.0 * self.k, (240, 1500),
                                "interference")

    def card_error(self, flow: Flow, method: str) -> str | None:
        if not self.sim.window("interference"):
            return None
        p = {"swipe": 0.55 + 0.35 * self.k, "contactless": 0.2}.get(method, 0.0)
        if self.variant == "static":
            p *= 0.8
        return self.rng.choice(["bad_read", "lrc"]) if self.chance(p) else None

    def at(self, screen: str, flow: Flow) -> Break | None:
        if screen not in ("card_read", "pin") or not self.sim.window("interference"):
            return None
        p = (0.04 + 0.14 * self.k) * (1.5 if self.variant == "static" else 1.0)
        if self.chance(p):
            return Break("watchdog", delay_ms=(100, 1500), reboot_ms=(20_000, 45_000))
        return None


class MaintenanceOverdue(Cause):
    """Dust on the magnetic head and chip contacts, a worn print head: read and print errors
    grow a little every day; the reader driver stalls and prints jam."""

    label = "maintenance_overdue"
    swipe_share = 0.15

    def setup(self) -> None:
        dev = self.sim.dev
        dev.wear0 = 0.03 + 0.06 * self.k
        dev.wear_slope = 0.025 + 0.07 * self.k

    def serviced(self) -> None:
        self.sim.dev.wear0, self.sim.dev.wear_slope = 0.006, 0.0

    def at(self, screen: str, flow: Flow) -> Break | None:
        wear = self.sim.dev.wear()
        if screen == "card_read" and flow.method in ("swipe", "chip") and self.chance(wear * 0.3):
            if self.chance(0.6):
                return Break("watchdog", delay_ms=(2000, 6000), reboot_ms=REBOOT)
            return Break(None, delay_ms=(1500, 4000))
        if screen == "print" and self.chance(wear * 0.45):
            dev = self.sim.dev
            dev.printer = self.rng.choice(["jam", "head_fault"])
            dev.printer_until = self.sim.t + self.rng.randint(60_000, 600_000)
            self.sim.health_now()
            return Break(None, delay_ms=(1500, 5000))
        return None


DEVICE_CAUSES: dict[str, type[Cause]] = {c.label: c for c in (
    HardwareMemory, HardwareOverheat, HardwarePower, HardwarePrinter, EnvironmentInterference,
    MaintenanceOverdue)}
