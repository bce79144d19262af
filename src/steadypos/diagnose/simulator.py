"""Fleet simulator: event log v1 for N terminals over D days, causes from the whole taxonomy.

Physical models, not a code book: temperature follows load with thermal inertia and a hot
terminal exits by watchdog/crash at its peaks; a memory leak drains free memory flow by flow until
an out-of-memory exit; network outages are merchant-wide windows; a bad release crashes every
model that installed it after its rollout date; a firmware that does not fit crashes in the vendor
SDK; worn readers get worse day by day. Healthy terminals see the odd timeout, cancel, read error
and a fleet-wide host slowdown overlaps everything. Deterministic for a given seed.
"""

from __future__ import annotations

import gzip
import heapq
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO

from steadypos.diagnose.taxonomy import LABELS, NONE

START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday; shops open 01:00-13:30 UTC (09:00 CST)
CURRENT_VERSION = "4.2.1"
PREVIOUS_VERSION = "4.1.3"
BAD_RELEASE = "4.3.0"
OUTDATED_VERSIONS = ("3.6.2", "3.4.0", "3.8.1")
CURRENT_PARAMS = "P20261101"
OLD_PARAMS = "P20260901"
APP_PKG = "com.steadypos.pay"

# (brand, model, firmwares, mem_total_mb)
MODELS = (
    ("PAX", "A920", ("PayDroid_7.1.2_V02.3.11", "PayDroid_7.1.2_V02.5.04"), 1024),
    ("PAX", "A920Pro", ("PayDroid_10_V12.1.07",), 2048),
    ("Newland", "N910", ("N910_V3.2.5", "N910_V3.3.0"), 1024),
    ("Newland", "ME31", ("ME31_V1.8.7",), 1024),
    ("Sunmi", "P2", ("P2_2.4.11", "P2_2.5.02"), 2048),
    ("Centerm", "K9", ("K9_5.1.3",), 1024),
    ("Landi", "A8", ("A8_OS_2.0.9",), 2048),
)
BAD_COMBO = ("Newland", "ME31", "ME31_V1.9.2b", 1024)  # the firmware the app does not fit

_SOFTWARE_CRASHES = (
    (
        "java.lang.NullPointerException",
        (
            f"{APP_PKG}.flow.OnlineStep.onResponse",
            f"{APP_PKG}.flow.FlowEngine.next",
            "android.os.Handler.dispatchMessage",
            "android.os.Looper.loop",
        ),
        "online",
    ),
    (
        "java.lang.IndexOutOfBoundsException",
        (
            f"{APP_PKG}.ui.PinPadView.onKey",
            f"{APP_PKG}.flow.PinStep.collect",
            "android.view.View.dispatchKeyEvent",
        ),
        "pin",
    ),
)
_COMPAT_CRASH = (
    "java.lang.IllegalStateException",
    (
        "com.newland.mtype.module.common.emv.EmvModuleImpl.readRecord",
        "com.newland.me.DeviceDriver.transmit",
        f"{APP_PKG}.device.CardReader.read",
        f"{APP_PKG}.flow.CardStep.run",
    ),
)
_OUTDATED_CRASH = (
    "java.lang.IllegalStateException",
    (f"{APP_PKG}.iso.LegacyPacker.pack", f"{APP_PKG}.flow.OnlineStep.send"),
)
_OOM = (
    "java.lang.OutOfMemoryError",
    ("android.graphics.Bitmap.nativeCreate", f"{APP_PKG}.print.ReceiptRenderer.render"),
)
_RANDOM_CRASHES = (
    ("java.util.ConcurrentModificationException", (f"{APP_PKG}.sync.TmsClient.poll",)),
    ("java.lang.RuntimeException", (f"{APP_PKG}.ui.MainActivity.onResume",)),
    ("android.os.DeadObjectException", ("android.os.BinderProxy.transact",)),
)


@dataclass
class Plan:
    """One terminal's make-up and fault."""

    tid: str
    mid: str
    label: str
    brand: str
    model: str
    firmware: str
    mem_total: int
    version: str
    params: str
    last_maintenance: str | None
    operators: list[str]
    trained: set[str]
    careless: set[str]
    rate: float  # flows per hour at the base of the daily profile
    ambient: float
    heat_k: float
    signal: float
    swipe_share: float
    install_day: int = -1  # bad release installed on this day
    params_day: int = -1  # wrong parameters applied on this day (-1: from before the log)
    new_params: str = ""
    fault_episodes: int = 0
    extras: dict = field(default_factory=dict)


@dataclass
class Fleet:
    plans: list[Plan]
    days: int
    outages: dict[str, list[tuple[float, float]]]  # mid -> [(t0, t1)] network outage windows
    host_slow: tuple[float, float]
    rollout_day: int


def _day_t(day: int) -> float:
    return (START + timedelta(days=day)).timestamp()


def plan_fleet(terminals: int, days: int, seed: int) -> Fleet:
    """Decide who is who: merchants, models, versions, operators and each terminal's cause."""
    rng = random.Random(f"fleet:{seed}")
    # merchants of 1..6 terminals
    sizes: list[int] = []
    left = terminals
    while left > 0:
        size = min(left, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6)))
        sizes.append(size)
        left -= size
    tids = [f"T{n:05d}" for n in range(1, terminals + 1)]
    merchants: list[tuple[str, list[str]]] = []
    pos = 0
    for m, size in enumerate(sizes):
        merchants.append((f"M{m + 1:04d}", tids[pos : pos + size]))
        pos += size
    labels: dict[str, str] = {}
    faulty = int(round(terminals * 0.6))
    per_label = max(1, faulty // len(LABELS)) if terminals >= len(LABELS) else 0
    # network: whole merchants (2+ terminals preferred) until the quota is met
    net_mids: list[str] = []
    order = sorted(merchants, key=lambda m: (len(m[1]) < 2, rng.random()))
    got = 0
    for mid, members in order:
        if got >= per_label:
            break
        net_mids.append(mid)
        for tid in members:
            labels[tid] = "network"
        got += len(members)
    rest = [t for t in tids if t not in labels]
    rng.shuffle(rest)
    for label in LABELS:
        if label == "network":
            continue
        for _ in range(per_label):
            if rest:
                labels[rest.pop()] = label
    for tid in rest:
        labels[tid] = NONE
    rollout_day = rng.randint(0, max(0, days // 3))
    mid_of = {tid: mid for mid, members in merchants for tid in members}
    mid_signal = {mid: rng.uniform(-90, -62) for mid, _ in merchants}
    for mid in net_mids:
        mid_signal[mid] = rng.uniform(-109, -97)
    plans: list[Plan] = []
    for tid in tids:
        label = labels[tid]
        trng = random.Random(f"plan:{seed}:{tid}")
        if label == "compatibility":
            brand, model, firmware, mem_total = BAD_COMBO
        else:
            brand, model, fws, mem_total = trng.choice(MODELS)
            firmware = trng.choice(fws)
        version = CURRENT_VERSION if trng.random() < 0.82 else PREVIOUS_VERSION
        if label == "outdated_software":
            version = trng.choice(OUTDATED_VERSIONS)
        elif label in ("compatibility", "software_defect"):
            version = CURRENT_VERSION
        params = CURRENT_PARAMS if trng.random() < 0.9 else OLD_PARAMS
        age = trng.randint(10, 170) if trng.random() < 0.88 else trng.randint(181, 400)
        if label == "maintenance_overdue":
            age = trng.randint(200, 720)
        elif label in ("environment_interference", "hardware_printer"):
            age = trng.randint(10, 170)
        last_maint: str | None = (START.date() - timedelta(days=age)).isoformat()
        if trng.random() < 0.03 and label != "maintenance_overdue":
            last_maint = None
        n_ops = trng.choice((1, 2, 2, 3))
        operators = [f"op-{tid[1:]}-{k}" for k in range(1, n_ops + 1)]
        trained = {op for op in operators if trng.random() < 0.88}
        careless: set[str] = set()
        if label == "operator_error":
            bad = trng.choice(operators)
            careless = {bad}
            trained.add(bad)
        elif label == "training_gap":
            bad = operators[0]
            careless = {bad}
            trained.discard(bad)
            if trng.random() < 0.4:
                operators.append(f"op-{tid[1:]}-new")
                careless.add(operators[-1])
        hot = label == "hardware_overheat"
        plan = Plan(
            tid=tid,
            mid=mid_of[tid],
            label=label,
            brand=brand,
            model=model,
            firmware=firmware,
            mem_total=mem_total,
            version=version,
            params=params,
            last_maintenance=last_maint,
            operators=operators,
            trained=trained,
            careless=careless,
            rate=trng.uniform(1.5, 6.0),
            ambient=trng.uniform(50, 58) if hot else trng.uniform(24, 36),
            heat_k=trng.uniform(2.6, 3.6) if hot else trng.uniform(0.3, 0.8),
            signal=mid_signal[mid_of[tid]] + trng.uniform(-3, 3),
            swipe_share=trng.uniform(0.1, 0.3),
        )
        if label == "software_defect":
            plan.install_day = min(days - 1, rollout_day + trng.choice((0, 0, 1, 1, 2)))
        if label == "parameter_mismatch":
            if trng.random() < 0.6 and days > 1:
                plan.params_day = trng.randint(0, max(0, days // 2))
                plan.new_params = "P20261118"
            else:
                plan.params = "P20261020"
        if label == "hardware_power":
            plan.extras["dead_battery"] = trng.random() < 0.35
        plans.append(plan)
    outages: dict[str, list[tuple[float, float]]] = {}
    for mid in net_mids:
        wins = []
        for day in range(days):
            for _ in range(_poisson(rng, 1.6)):
                t0 = _day_t(day) + rng.uniform(1.5, 13.0) * 3600
                wins.append((t0, t0 + rng.uniform(8, 40) * 60))
        outages[mid] = sorted(wins)
    slow_day = rng.randrange(days)
    t0 = _day_t(slow_day) + rng.uniform(2, 12) * 3600
    return Fleet(plans, days, outages, (t0, t0 + 600), rollout_day)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def _iso(t: float) -> str:
    moment = datetime.fromtimestamp(t, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Down(Exception):
    """The app went away in the middle of a flow."""


class TerminalSim:
    """Runs one terminal day by day, yielding its event lines in time order."""

    def __init__(self, plan: Plan, fleet: Fleet, seed: int) -> None:
        self.p = plan
        self.fleet = fleet
        self.rng = random.Random(f"sim:{seed}:{plan.tid}")
        self.events: list[tuple[float, int, dict[str, object]]] = []
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
        self.unstable: list[tuple[float, float]] = []
        self.interference: list[tuple[float, float]] = []
        self.mismatched = plan.label == "parameter_mismatch" and plan.params_day < 0

    # ---------------------------------------------------------------- emitting
    def emit(self, t: float, type_: str, **keys: object) -> None:
        self.seq += 1
        ev: dict[str, object] = {"ts": _iso(t), "tid": self.p.tid, "type": type_}
        ev.update(keys)
        self.events.append((t, self.seq, ev))

    def screen(self, t: float, name: str) -> None:
        self.emit(t, "screen", screen=name)

    def health(self, t: float, printer: str = "ok") -> None:
        p = self.p
        power = "ac"
        if any(a <= t < b for a, b in self.unstable):
            power = "unstable"
        elif p.extras.get("dead_battery") and self.battery < 100:
            power = "battery"
        self.emit(
            t,
            "health",
            mem_free_mb=int(max(1, self.mem_free)),
            mem_total_mb=p.mem_total,
            cpu_temp_c=round(self.temp, 1),
            battery_pct=int(max(0, self.battery)),
            power=power,
            printer=printer,
            signal_dbm=int(round(p.signal + self.rng.gauss(0, 2.5))),
            storage_free_mb=int(800 + self.rng.uniform(-50, 50)),
        )

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
        return any(a <= t < b for a, b in self.outages)

    def host_slow(self, t: float) -> bool:
        a, b = self.fleet.host_slow
        return a <= t < b

    # ---------------------------------------------------------------- app lifecycle
    def start_app(self, t: float, first: bool, day: int) -> float:
        p = self.p
        self.emit(t, "app", event="start", app_version=self.version)
        self.mem_free = p.mem_total * (0.45 + self.rng.uniform(-0.05, 0.05))
        if first and self.rng.random() < 0.97:
            self.emit(
                t + 0.2,
                "inventory",
                brand=p.brand,
                model=p.model,
                firmware=p.firmware,
                app_version=self.version,
                params_version=self.params,
                mid=p.mid,
                last_maintenance=p.last_maintenance,
            )
        t += 1.0
        self.emit(t, "net", event="up", signal_dbm=int(p.signal), latency_ms=60)
        t += 0.5
        self.sign_in(t)
        t += 1.5
        if self.operator:
            self.emit(t, "operator", event="login", operator=self.operator)
        self.screen(t + 0.5, "idle")
        return t + 1.0

    def sign_in(self, t: float) -> None:
        self.stan += 1
        self.emit(t, "txn", kind="sign_in", stan=self.stan, phase="sent")
        if self.mismatched:
            self.emit(t + 0.3, "params", event="mismatch", version=self.params,
                      field=self.rng.choice(("keys", "mid", "tpdu", "tid")))  # fmt: skip
            rc = self.rng.choice(("A0", "03", "97"))
        else:
            rc = "00"
        self.emit(t + 0.6, "txn", kind="sign_in", stan=self.stan, phase="response", rc=rc,
                  latency_ms=600)  # fmt: skip

    def go_down(self, t: float, reason: str, exc: tuple[str, tuple[str, ...]] | None,
                logged: bool = True) -> None:  # fmt: skip
        if logged:
            keys: dict[str, object] = {"event": "exit", "app_version": self.version,
                                       "reason": reason}  # fmt: skip
            if exc is not None:
                keys["exception"] = exc[0]
                keys["frames"] = list(exc[1])
            self.emit(t, "app", **keys)
        pause = self.rng.uniform(40, 150) if reason != "power_loss" else self.rng.uniform(90, 400)
        self.up_at = t + pause
        self.temp -= self.rng.uniform(2, 6)
        self.start_app(self.up_at, False, 0)
        self.up_at += 3
        raise _Down

    def fault(self) -> None:
        self.p.fault_episodes += 1

    # ---------------------------------------------------------------- reading errors
    def read_error(self, t: float, method: str, day: int) -> str | None:
        p, rng = self.p, self.rng
        prob = 0.01
        if p.label == "maintenance_overdue":
            prob = 0.03 + 0.022 * day
        if any(a <= t < b for a, b in self.interference) and method == "swipe":
            prob = 0.65
        if rng.random() >= prob:
            return None
        if method == "swipe":
            return rng.choice(("bad_read", "bad_read", "lrc"))
        if method == "chip":
            return rng.choice(("chip_mute", "bad_read"))
        if method == "qr":
            return "no_code"
        return "bad_read"

    # ---------------------------------------------------------------- one payment flow
    def flow(self, t: float, day: int) -> float:
        p, rng = self.p, self.rng
        self.recent.append(t)
        careless = self.operator in p.careless
        self.screen(t, "amount")
        t += rng.uniform(2, 6)
        if careless and rng.random() < 0.07:
            self.screen(t, "idle")  # abandoned mid-way
            self.fault()
            return t
        self.screen(t, "card")
        t += rng.uniform(2, 5)
        kind = rng.random()
        swipe = p.swipe_share
        card = "mag" if kind < swipe * 0.5 else "qr" if kind < swipe * 0.5 + 0.1 else "chip"
        method = {"mag": "swipe", "qr": "qr"}.get(card, "chip")
        if card == "chip":
            if rng.random() < 0.3:
                method = "contactless"
            elif rng.random() < swipe * 0.5:
                method = "swipe"  # a chip card that the customer prefers to swipe (fallback)
        if card == "chip" and method == "chip":
            wrong = 0.25 if careless else 0.006
            if rng.random() < wrong:
                self.emit(t, "card", method="swipe", ok=False, error="wrong_method")
                t += rng.uniform(3, 7)
                if careless and rng.random() < 0.45:
                    self.screen(t, "idle")
                    self.fault()
                    return t
        for attempt in range(3):
            err = self.read_error(t, method, day)
            if err is None:
                self.emit(t, "card", method=method, ok=True, error=None)
                break
            self.emit(t, "card", method=method, ok=False, error=err)
            t += rng.uniform(3, 8)
            static = p.label == "environment_interference" and err in ("bad_read", "lrc")
            if static and rng.random() < 0.12:
                self.fault()
                self.go_down(t, "watchdog", None)  # static discharge resets the terminal
            if attempt == 2 or rng.random() < 0.25:
                self.screen(t, "idle")  # operator gives up on the card
                if p.label in ("maintenance_overdue", "environment_interference"):
                    self.fault()
                return t
        t += rng.uniform(0.5, 2)
        self.hazards(t, "card", day)
        needs_pin = {"swipe": 0.8, "chip": 0.85, "contactless": 0.15, "qr": 0.0}[method]
        if rng.random() < needs_pin:
            self.screen(t, "pin")
            t += rng.uniform(4, 12)
            self.hazards(t, "pin", day)
            timeout = 0.12 if careless else 0.004
            cancel = 0.05 if careless else 0.02
            r = rng.random()
            if r < timeout:
                self.emit(t + 30, "pin", outcome="timeout")
                self.screen(t + 31, "idle")
                if careless:
                    self.fault()
                return t + 31
            if r < timeout + cancel:
                self.emit(t, "pin", outcome="cancelled")
                self.screen(t + 1, "idle")
                return t + 1
            self.emit(t, "pin", outcome="entered")
            t += 0.5
        self.screen(t, "online")
        self.stan += 1
        amount = int(rng.lognormvariate(8.5, 1.0)) + 1  # fen
        self.emit(t, "txn", kind="sale", stan=self.stan, phase="sent", amount=amount)
        outage = self.in_outage(t)
        fail = 0.002
        if outage:
            fail = 0.85
        elif p.label == "network":
            fail = 0.03
        elif self.host_slow(t):
            fail = 0.3
        if rng.random() < fail:
            phase = "conn_fail" if outage and rng.random() < 0.5 else "timeout"
            wait = 30.0 if phase == "timeout" else rng.uniform(1, 6)
            if outage and rng.random() < 0.5:
                self.emit(t + 0.5, "net", event=rng.choice(("down", "connect_fail", "reset")),
                          signal_dbm=int(p.signal - rng.uniform(0, 8)))  # fmt: skip
            self.emit(t + wait, "txn", kind="sale", stan=self.stan, phase=phase,
                      latency_ms=int(wait * 1000))  # fmt: skip
            t += wait
            if p.label == "network" and (outage or rng.random() < 0.5):
                self.fault()
            r = rng.random()
            if r < 0.08 and outage:
                self.go_down(t + 5, "anr", ("ANR Input dispatching timed out",
                                            ("java.net.SocketInputStream.socketRead0",
                                             f"{APP_PKG}.net.HostLink.receive")))  # fmt: skip
            if r < 0.7:
                self.screen(t + 1, "idle")
                return t + 1
            self.screen(t + 1, "result")
            self.screen(t + 4, "idle")
            return t + 4
        latency = int(rng.uniform(250, 1800) * (2.5 if p.label == "network" else 1))
        t += latency / 1000
        self.hazards(t, "online", day)
        rc = self.response_code(careless)
        if rc == "MAC":
            self.emit(t, "txn", kind="sale", stan=self.stan, phase="mac_fail")
            self.screen(t + 1, "idle")
            self.fault()
            return t + 1
        self.emit(t, "txn", kind="sale", stan=self.stan, phase="response", rc=rc,
                  latency_ms=latency)  # fmt: skip
        if rc != "00":
            abort = 0.0
            if rc == "55" and careless:
                abort = 0.7
            elif rc in ("03", "58", "A0", "97") and self.mismatched:
                abort = 0.6
            elif rc == "30" and p.label == "outdated_software":
                abort = 0.65
            if rng.random() < abort:
                self.screen(t + 1, "idle")
                self.fault()
                return t + 1
            self.screen(t + 1, "result")
            self.screen(t + 4, "idle")
            return t + 4
        self.screen(t + 0.3, "receipt")
        t += rng.uniform(2, 4)
        self.print_receipt(t, day)
        self.screen(t, "result")
        self.screen(t + rng.uniform(2, 4), "idle")
        return t + 4

    def response_code(self, careless: bool) -> str:
        p, rng = self.p, self.rng
        r = rng.random()
        if self.mismatched and r < 0.45:
            return rng.choice(("03", "58", "A0", "97", "MAC"))
        if p.label == "outdated_software" and r < 0.14:
            return "30"
        if careless and r < 0.15:
            return "55"
        r = rng.random()
        if r < 0.02:
            return "51"
        if r < 0.03:
            return "55"
        if r < 0.037:
            return "05"
        return "00"

    def print_receipt(self, t: float, day: int) -> None:
        p, rng = self.p, self.rng
        jam = 0.0015
        if p.label == "hardware_printer":
            jam = 0.13
        elif p.label == "maintenance_overdue":
            jam = 0.01 + 0.012 * day
        if rng.random() < jam:
            status = rng.choice(("jam", "head_fault")) if p.label != "maintenance_overdue" \
                else "head_fault"  # fmt: skip
            self.health(t, printer=status)
            if p.label in ("hardware_printer", "maintenance_overdue"):
                self.fault()
            if rng.random() < 0.15:
                self.go_down(t + 2, "crash", ("com.pax.dal.exceptions.PrinterDevException",
                                              ("com.pax.dal.IPrinter.start",
                                               f"{APP_PKG}.print.Printer.print")))  # fmt: skip
            self.screen(t + rng.uniform(5, 20), "idle")
            raise _Aborted(t + 20)
        if rng.random() < 0.004:
            self.health(t, printer="paper_out")

    def hazards(self, t: float, stage: str, day: int) -> None:
        """Ways the app can go away at this point of a flow, by cause (and the odd random one)."""
        p, rng = self.p, self.rng
        label = p.label
        if label == "hardware_overheat" or self.temp > 70:
            self.heat(t, 60)
            if self.temp > 76 and rng.random() < min(0.6, (self.temp - 75) * 0.08):
                if label == "hardware_overheat":
                    self.fault()
                exc = rng.choice(_RANDOM_CRASHES) if rng.random() < 0.35 else None
                self.go_down(t, "watchdog" if exc is None else "crash", exc)
        if label == "hardware_memory" and stage == "card":
            self.mem_free -= rng.uniform(8, 20)
            if self.mem_free < 40:
                self.fault()
                r = rng.random()
                if r < 0.5:
                    self.go_down(t, "crash", _OOM)
                self.go_down(t, "killed" if r < 0.8 else "anr", None)
        elif stage == "card":
            self.mem_free += rng.uniform(-8, 8) + (p.mem_total * 0.45 - self.mem_free) * 0.05
        unstable = any(a <= t < b for a, b in self.unstable)
        if label == "hardware_power" and unstable and rng.random() < 0.05:
            self.fault()
            self.go_down(t, "power_loss", None, logged=rng.random() < 0.75)
        if label == "hardware_power" and p.extras.get("dead_battery") and self.battery <= 1:
            self.fault()
            self.battery = 100.0
            self.go_down(t, "power_loss", None, logged=rng.random() < 0.6)
        field = any(a <= t < b for a, b in self.interference)
        if label == "environment_interference" and stage == "pin" and field and rng.random() < 0.08:
            self.fault()
            self.go_down(t, "watchdog", None)
        if label == "software_defect" and self.version == BAD_RELEASE:
            for name, frames, where in _SOFTWARE_CRASHES:
                if stage == where and rng.random() < 0.05:
                    self.fault()
                    self.go_down(t, "crash" if where == "online" else "anr", (name, frames))
        if label == "compatibility" and stage in ("card", "pin") and rng.random() < 0.035:
            self.fault()
            self.go_down(t, "crash", _COMPAT_CRASH)
        if label == "outdated_software" and stage == "online" and rng.random() < 0.02:
            self.fault()
            self.go_down(t, "crash", _OUTDATED_CRASH)
        if not causes_crash_label(label) and rng.random() < 0.0001:
            self.go_down(t, "crash", rng.choice(_RANDOM_CRASHES))

    # ---------------------------------------------------------------- one day
    def day(self, day: int) -> list[tuple[float, int, dict]]:
        p, rng = self.p, self.rng
        self.events = []
        base = _day_t(day)
        t_open = base + 3600 * rng.uniform(0.8, 1.6)
        t_close = base + 3600 * rng.uniform(13.0, 13.8)
        if p.label == "hardware_power":
            for _ in range(rng.randint(1, 3)):
                a = base + 3600 * rng.uniform(1.5, 12.5)
                self.unstable.append((a, a + 60 * rng.uniform(15, 70)))
        if p.label == "environment_interference":
            for _ in range(rng.randint(3, 6)):  # a motor / magnet nearby runs on and off
                a = base + 3600 * rng.uniform(1.5, 12.5)
                self.interference.append((a, a + 60 * rng.uniform(20, 60)))
        ops = p.operators
        shifts = [ops[0]] if len(ops) == 1 else rng.sample(ops, 2)
        if p.label == "training_gap" and len(shifts) == 2 and shifts[0] not in p.careless:
            shifts.reverse()
        self.operator = shifts[0]
        if day == 0:
            for op in sorted(p.trained):
                self.emit(t_open - 600, "training", operator=op,
                          course=rng.choice(("basic", "new_features")))  # fmt: skip
        t = self.start_app(t_open, True, day)
        t_up = t_open + 3600 * rng.uniform(0.5, 3) if p.install_day == day else None
        t_params = t_open + 3600 * rng.uniform(0.5, 6) if p.params_day == day else None
        next_health = t + 5
        shift_change = base + 3600 * 7.0 if len(shifts) == 2 else None
        hour_mult = (0.5, 0.7, 1.0, 1.6, 1.8, 1.2, 0.8, 0.8, 1.0, 1.4, 1.7, 1.5, 1.0, 0.7)
        while True:
            hour = int((t - base) / 3600)
            lam = p.rate * hour_mult[min(hour, 13)] / 3600
            gap = rng.expovariate(lam)
            t_next = t + gap
            while next_health < min(t_next, t_close):
                self.heat(next_health, 600)
                if p.label == "hardware_power" and p.extras.get("dead_battery"):
                    self.battery -= rng.uniform(2.5, 5)
                    if self.battery < 0:
                        self.battery = 0
                self.health(next_health)
                next_health += 600 + rng.uniform(-20, 20)
            if t_next >= t_close:
                break
            t = max(t_next, self.up_at)
            if shift_change is not None and t > shift_change:
                self.emit(t, "operator", event="logout", operator=self.operator)
                self.operator = shifts[1]
                self.emit(t + 1, "operator", event="login", operator=self.operator)
                shift_change = None
                t += 2
            if t_up is not None and t > t_up:
                self.emit(t, "maintenance", kind="software_update")
                self.emit(t + 1, "app", event="exit", app_version=self.version, reason="normal")
                self.version = BAD_RELEASE
                t = self.start_app(t + 40, False, day)
                t_up = None
            if t_params is not None and t > t_params:
                self.params = p.new_params
                self.emit(t, "params", event="applied", version=self.params)
                self.mismatched = True
                self.sign_in(t + 1)
                t += 3
                t_params = None
            try:
                t = self.flow(t, day)
            except _Down:
                t = self.up_at
            except _Aborted as ab:
                t = ab.t
        if self.operator:
            self.emit(t_close, "operator", event="logout", operator=self.operator)
        self.emit(t_close + 1, "app", event="exit", app_version=self.version, reason="normal")
        if p.extras.get("dead_battery"):
            self.battery = 100.0  # charged overnight
        self.events.sort(key=lambda e: (e[0], e[1]))
        return self.events


class _Aborted(Exception):
    def __init__(self, t: float) -> None:
        self.t = t


def causes_crash_label(label: str) -> bool:
    return label in ("software_defect", "compatibility", "outdated_software")


def _terminal_stream(plan: Plan, fleet: Fleet, seed: int) -> Iterator[tuple[float, int, dict]]:
    sim = TerminalSim(plan, fleet, seed)
    for day in range(fleet.days):
        yield from sim.day(day)


def simulate(terminals: int, days: int, seed: int) -> tuple[Fleet, Iterator[dict]]:
    """The fleet plan and an iterator over its events, merged in time order across terminals."""
    fleet = plan_fleet(terminals, days, seed)
    streams = [_terminal_stream(p, fleet, seed) for p in fleet.plans]
    merged = heapq.merge(*streams, key=lambda e: e[0])
    return fleet, (ev for _, _, ev in merged)


def ground_truth(fleet: Fleet) -> dict[str, str]:
    """{tid: label}; a faulty terminal whose fault caused no flash-exit is `none` (no episode)."""
    return {p.tid: (p.label if p.fault_episodes else NONE) for p in fleet.plans}


def messy(events: Iterator[dict], seed: int) -> Iterator[str]:
    """Real-world untidiness: terminals interleaved out of time order, inventory lines dropped,
    unknown keys and types, timestamps without millis, the odd truncated line."""
    rng = random.Random(f"messy:{seed}")
    pending: dict[str, list[str]] = {}
    count = 0
    for ev in events:
        if ev["type"] == "inventory" and rng.random() < 0.3:
            continue
        if rng.random() < 0.05:
            ev["x_build"] = rng.randint(1, 999)
        if rng.random() < 0.5:
            ts = ev["ts"]
            ev["ts"] = ts[:19] + "Z"
        line = json.dumps(ev, separators=(",", ":"))
        if rng.random() < 0.00005:
            line = line[: len(line) // 2]
        pending.setdefault(ev["tid"], []).append(line)
        count += 1
        if rng.random() < 0.001:
            pending.setdefault(ev["tid"], []).append(
                json.dumps({"ts": ev["ts"], "tid": ev["tid"], "type": "gps", "lat": 31.2})
            )
        if count % 5000 == 0:
            yield from _flush(pending, rng)
    yield from _flush(pending, rng)


def _flush(pending: dict[str, list[str]], rng: random.Random) -> Iterator[str]:
    tids = list(pending)
    rng.shuffle(tids)
    for tid in tids:
        yield from pending[tid]
    pending.clear()


def write_fleet(
    terminals: int,
    days: int,
    seed: int,
    out: IO[str],
    untidy: bool = False,
    progress: Callable[[float], None] | None = None,
) -> dict[str, str]:
    """Write the fleet's event log to `out` (text) and return the ground truth; `progress`
    hears the simulated days written so far."""
    fleet, events = simulate(terminals, days, seed)
    if progress is not None:
        events = _reporting(events, progress)
    write = out.write
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    if untidy:
        for line in messy(events, seed):
            write(line)
            write("\n")
    else:
        for ev in events:
            write(dumps(ev))
            write("\n")
    return ground_truth(fleet)


def _reporting(events: Iterator[dict], report: Callable[[float], None]) -> Iterator[dict]:
    """The events unchanged; every 4096th tells `report` how many days (from START) are done."""
    for n, ev in enumerate(events, 1):
        if n % 4096 == 0:
            t = datetime.fromisoformat(ev["ts"].replace("Z", "+00:00"))
            report((t - START).total_seconds() / 86400)
        yield ev


def open_out(path: str) -> IO[str]:
    if path.endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=3)
    return open(path, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
