"""One terminal's life in the window: boots and restarts, what it writes, and how a flow breaks.

`Sim` is the terminal's clock and log. Health readings are taken on the clock's beat whenever the
app runs, also in the middle of a flow, so a reading can land seconds before a crash.
"""

from __future__ import annotations

import datetime as dt
import random

from . import catalog as C
from .causes import Cause
from .causes_app import APP_CAUSES
from .causes_device import DEVICE_CAUSES
from .causes_people import PEOPLE_CAUSES
from .device import LOCAL_MS, Device
from .model import Break, Window
from .people import Operator

HOUR = 3_600_000
CAUSES: dict[str, type[Cause]] = {**APP_CAUSES, **DEVICE_CAUSES, **PEOPLE_CAUSES}
EPOCH0 = int(dt.datetime.fromisoformat(C.WINDOW_START + "T00:00:00+00:00").timestamp() * 1000)


class Sim:
    def __init__(self, spec, days: int, attempt: int = 0, boost: float = 0.0):
        self.spec, self.days = spec, days
        self.rng = random.Random(f"{spec.seed}:{attempt}")
        self.k = min(1.6, spec.intensity + boost)  # a rerun of a fault too faint to show
        self.dev = Device(self.rng, spec.form, spec.mem_total, spec.storage_mb, spec.radio,
                          spec.spot)
        self.events: list[tuple[int, str, dict]] = []
        self.t = 0
        self.midnight = EPOCH0 - LOCAL_MS
        self.stan = self.rng.randint(1, 800000)
        self.op: Operator | None = None  # logged in on the app
        self.on_shift: Operator | None = None  # at the counter according to the rota
        self.up = False
        self.next_health: int | None = None
        self.app_version = spec.app_version
        self.params_version = spec.params_version
        self.last_maintenance = spec.last_maintenance
        self.pending_params: str | None = None
        self.pending_reversal: int | None = None
        self.batch = 0
        self.approved_today: list[int] = []
        self.windows: list[Window] = []
        self.roster_synced = False
        self.day = 0
        self.cause = CAUSES.get(spec.label, Cause)(self)

    # -- clock and log ------------------------------------------------------------------------
    def at(self, hour: float) -> int:
        return int(self.midnight + hour * HOUR)

    def hour(self) -> float:
        return (self.t - self.midnight) / HOUR

    def emit(self, type_: str, **fields) -> None:
        self.events.append((self.t, type_, fields))

    def wait(self, ms: float) -> None:
        target = self.t + int(ms)
        while self.next_health is not None and self.next_health <= target:
            self.t = max(self.t, self.next_health)
            self.health_now()
            beat = self.spec.health_every_ms * self.rng.uniform(0.92, 1.08)
            self.next_health = self.t + int(beat)
        self.t = target  # the device catches up when it is next looked at (Sim.device)

    def skip(self, ms: float) -> None:
        """Time passes with the app down: no readings."""
        self.t += int(ms)

    def device(self) -> Device:
        """The device brought up to the present."""
        self.dev.advance(self.t)
        return self.dev

    def ms(self, lo: int, hi: int) -> int:
        """A random duration in [lo, hi) milliseconds (cheaper than randint on hot paths)."""
        return lo + int(self.rng.random() * (hi - lo))

    def health_now(self) -> None:
        self.dev.advance(self.t)
        self.dev.unstable = self.window("unstable") is not None
        self.emit("health", **self.dev.reading())

    def window(self, kind: str, t: int | None = None) -> Window | None:
        t = self.t if t is None else t
        return next((w for w in self.windows if w.kind == kind and w.covers(t)), None)

    def screen(self, name: str) -> None:
        self.wait(self.ms(15, 180))  # the UI thread draws a moment after the event
        self.emit("screen", screen=name)

    def next_stan(self) -> int:
        self.stan = self.stan % 999999 + 1
        return self.stan

    def txn(self, kind: str, stan: int, phase: str, amount: int, rc: str | None = None,
            latency: int | None = None) -> None:
        fields: dict = {"kind": kind, "stan": stan, "phase": phase}
        if rc is not None:
            fields["rc"] = rc
        fields["amount"] = amount
        if latency is not None:
            fields["latency_ms"] = latency
        self.emit("txn", **fields)

    # -- app life -----------------------------------------------------------------------------
    def inventory(self) -> None:
        s = self.spec
        self.emit("inventory", brand=s.brand, model=s.model, firmware=s.firmware,
                  app_version=self.app_version, params_version=self.params_version, mid=s.mid,
                  last_maintenance=self.last_maintenance)

    def boot(self, device: bool) -> None:
        self.emit("app", event="start", app_version=self.app_version)
        self.up = True
        if self.pending_params:  # the TMS agent syncs parameters first, then reports
            self.apply_params(self.pending_params)
        if device:
            self.inventory()
        if not self.roster_synced:
            self.roster_synced = True
            for op in [*self.spec.roster.ops, self.spec.roster.manager]:
                for course in op.courses if op else ():
                    self.emit("training", operator=op.oid, course=course)
        self.wait(self.rng.randint(800, 3000))
        if not self.window("outage"):
            self.emit("net", event="up", signal_dbm=self.device().dbm(),
                      latency_ms=self.device().rtt())
            self.sign_in()
        self.screen("idle")
        self.next_health = self.t + self.rng.randint(2000, 30000)
        if self.on_shift:
            self.login(self.on_shift)

    def apply_params(self, version: str) -> None:
        self.emit("params", event="applied", version=version)
        self.params_version = version
        self.pending_params = None
        self.cause.params_applied(version)

    def sign_in(self) -> None:
        stan = self.next_stan()
        self.txn("sign_in", stan, "sent", 0)
        latency = self.device().rtt() + self.rng.randint(150, 600)
        self.wait(latency)
        rc = self.cause.sign_in_rc()
        self.txn("sign_in", stan, "response", 0, rc, latency)
        self.cause.after_sign_in(rc)
        if rc == "00" and self.pending_reversal is not None:
            self.send_reversal()

    def send_reversal(self) -> None:
        amount, self.pending_reversal = self.pending_reversal or 0, None
        stan = self.next_stan()
        self.txn("reversal", stan, "sent", amount)
        latency = self.device().rtt() + self.rng.randint(150, 500)
        self.wait(latency)
        self.txn("reversal", stan, "response", amount, "25" if self.rng.random() < 0.2 else "00",
                 latency)

    def login(self, op: Operator) -> None:
        if self.op is not None and self.op is not op:
            self.logout()
        if self.op is None:
            self.emit("operator", event="login", operator=op.oid)
            self.op = op

    def logout(self) -> None:
        if self.op is not None:
            self.emit("operator", event="logout", operator=self.op.oid)
            self.op = None

    def exit_app(self, reason: str, exception: str | None = None,
                 frames: list[str] | None = None) -> None:
        fields: dict = {"event": "exit", "app_version": self.app_version, "reason": reason}
        if exception:
            fields["exception"] = exception
        if frames:
            fields["frames"] = frames
        self.emit("app", **fields)
        self.up, self.next_health, self.op = False, None, None

    def restart(self, reason: str, off_ms: tuple[int, int], device: bool, exception=None,
                frames=None) -> None:
        self.exit_app(reason, exception, frames)
        self.skip(self.rng.randint(*off_ms))
        if device:
            self.dev.leak = 0.0
        else:
            self.dev.app_restart()
        self.boot(device)

    def apply_break(self, b: Break) -> None:
        self.wait(self.rng.randint(*b.delay_ms))
        if b.exit is None:
            self.screen("idle")
            if b.then:
                b.then()
        elif b.reboot_ms:
            self.restart(b.exit, b.reboot_ms, True, b.exception, b.frames)
        else:
            self.restart(b.exit, (2500, 9000), False, b.exception, b.frames)
