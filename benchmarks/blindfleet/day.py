"""A terminal's working day: the rota, customers in busy hours, planned actions, settlement.

Between customers an agenda runs what the clock brings: logins and logouts at shift changes,
outages and brown-outs starting and ending, updates, technician visits, training sessions.
Anything due while a flow runs waits until the flow is over, as on a real counter.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools

from . import catalog as C
from .device import DAY_MS, bump
from .flows import new_customer, run_flow
from .model import Customer, Window
from .online import announce
from .people import day_sessions
from .sim import EPOCH0, LOCAL_MS, Sim

WEEKEND = {"restaurant": 1.3, "supermarket": 1.35, "boutique": 1.5, "market": 1.2, "fuel": 0.85}


def _arrivals(sim: Sim, sessions) -> list[tuple[int, int, Customer | None]]:
    kind = C.MERCHANT_KINDS[sim.spec.kind]
    peak, peaks, off = kind[4], kind[8], kind[9]
    weekday = (dt.date.fromisoformat(C.WINDOW_START) + dt.timedelta(days=sim.day)).weekday()
    scale = peak * sim.spec.traffic * (WEEKEND.get(sim.spec.kind, 1.0) if weekday >= 5 else 1.0)
    lmax = scale * (off + sum(w for _, w, _ in peaks))
    out = []
    for _op, start, end in sessions:
        h = start + 0.03
        while True:
            h += sim.rng.expovariate(lmax)
            if h >= end - 0.03:
                break
            rate = scale * (off + sum(w * bump(h, c, width) for c, w, width in peaks))
            if sim.rng.random() * lmax < rate:
                out.append((sim.at(h), len(out), None))
    return out


class Day:
    def __init__(self, sim: Sim, d: int):
        self.sim, self.d = sim, d
        self.agenda: list = []
        self.seq = itertools.count()

    def later(self, t: int, fn, *args) -> None:
        heapq.heappush(self.agenda, (t, next(self.seq), fn, args))

    def run_agenda(self, until: int) -> None:
        sim = self.sim
        while self.agenda and self.agenda[0][0] <= until:
            t, _, fn, args = heapq.heappop(self.agenda)
            if t > sim.t:
                sim.wait(t - sim.t)
            fn(*args)

    # -- agenda actions -------------------------------------------------------------------------
    def shift_start(self, op) -> None:
        self.sim.on_shift = op
        if self.sim.up:
            self.sim.login(op)

    def shift_end(self, op) -> None:
        if self.sim.op is op:
            self.sim.logout()
        if self.sim.on_shift is op:
            self.sim.on_shift = None

    def window_edge(self, w: Window, starting: bool) -> None:
        sim = self.sim
        if w.kind == "outage":
            if starting:
                announce(sim, w)
                for t in range(w.start + 25_000, w.end - 5000, 30_000):
                    self.later(t, self.connect_fail, w)
            elif w.announced:
                sim.emit("net", event="up", signal_dbm=sim.device().dbm(),
                         latency_ms=sim.device().rtt())
        elif w.kind == "unstable" and sim.up:
            sim.health_now()

    def connect_fail(self, w: Window) -> None:
        if self.sim.up and w.covers(self.sim.t):
            self.sim.emit("net", event="connect_fail", signal_dbm=self.sim.device().dbm(),
                          latency_ms=self.sim.rng.randint(3000, 10000))

    def reboot_for(self, kind: str) -> None:
        sim = self.sim
        if not sim.up:
            return
        sim.emit("maintenance", kind=kind)
        if kind in ("cleaning", "inspection", "part_replaced"):
            sim.last_maintenance = (dt.date.fromisoformat(C.WINDOW_START)
                                    + dt.timedelta(days=self.d)).isoformat()
            sim.cause.serviced()
        sim.logout()
        sim.restart("normal", (30_000, 120_000), True)

    def update(self, version: str) -> None:
        sim = self.sim
        if sim.up:
            sim.emit("maintenance", kind="software_update")
            sim.logout()
            sim.exit_app("normal")
            sim.skip(sim.rng.randint(25_000, 80_000))
            sim.app_version = version
            sim.boot(True)

    def train(self, oid: str, course: str) -> None:
        op = next((o for o in self.sim.spec.roster.ops if o.oid == oid), None)
        if op is not None:
            self.sim.emit("training", operator=oid, course=course)
            op.courses = tuple(sorted({*op.courses, course}))

    def idle_crash(self) -> None:
        if self.sim.up:
            exc, frames = C.SIGNATURES["idle_noise"]
            self.sim.restart("crash", (2500, 8000), False, exc, list(frames))

    def set_params(self, version: str) -> None:
        if self.sim.up:
            self.sim.apply_params(version)
        else:
            self.sim.pending_params = version

    # -- the day --------------------------------------------------------------------------------
    def plan(self, sessions, t_open: int, t_close: int) -> None:
        sim, spec, d = self.sim, self.sim.spec, self.d
        for i, (op, start, end) in enumerate(sessions):
            self.later(sim.at(start), self.shift_start, op)
            if i < len(sessions) - 1:
                self.later(sim.at(end), self.shift_end, op)
        if spec.update and spec.update[0] == d:
            self.later(sim.at(spec.update[1]), self.update, spec.update[2])
        for day, h, kind in spec.visits:
            if day == d:
                self.later(sim.at(h), self.reboot_for, kind)
        for day, h, oid, course in spec.trainings:
            if day == d:
                self.later(sim.at(h), self.train, oid, course)
        push = spec.params_push
        if push and push[0] == d and push[1] is not None:
            self.later(sim.at(push[1]), self.set_params, push[2])
        if spec.idle_crash and spec.idle_crash[0] == d:
            self.later(sim.at(spec.idle_crash[1]), self.idle_crash)
        windows = sim.cause.windows(d, t_open + 600_000, t_close)
        if sim.rng.random() < 0.35:  # the ordinary blip every link has now and then
            t = sim.rng.randint(t_open + 600_000, t_close)
            windows.append(Window(t, t + sim.rng.randint(5000, 60000), "outage", {"event": "down"}))
        sim.windows = windows
        for w in windows:
            self.later(w.start, self.window_edge, w, True)
            self.later(w.end, self.window_edge, w, False)

    def kind_for(self, cust: Customer) -> str:
        sim = self.sim
        r = sim.rng.random()
        if cust.retries:
            return "sale"
        if r < 0.02 and cust.card in ("chip_debit", "magstripe"):
            return "balance"
        if r < 0.05 and sim.approved_today:
            cust.amount = sim.approved_today.pop(sim.rng.randrange(len(sim.approved_today)))
            return "void"
        if r < 0.062:
            cust.amount = max(100, cust.amount // 200 * 100)
            return "refund"
        return "sale"

    def serve(self, arrivals) -> None:
        sim = self.sim
        i, extra = 0, itertools.count(10**6)
        while i < len(arrivals):
            t_arr, _, cust = arrivals[i]
            i += 1
            start = t_arr if t_arr >= sim.t else sim.t + sim.rng.randint(1500, 6000)
            self.run_agenda(start)
            if sim.t < start:
                sim.wait(start - sim.t)
            if sim.op is None or not sim.up:
                continue
            pressure = bisect.bisect_right(arrivals, (sim.t, float("inf"))) - i
            cust = cust or new_customer(sim)
            flow = run_flow(sim, cust, self.kind_for(cust), max(0, pressure))
            if flow.rc == "55" and cust.retries < 2:
                cust.retries += 1
                bisect.insort(arrivals, (sim.t + sim.rng.randint(3000, 9000), next(extra), cust))

    def settle(self, closer) -> None:
        sim = self.sim
        if not sim.up:
            sim.boot(True)
        sim.login(sim.spec.roster.manager or closer)
        sim.screen("settings")
        sim.wait(sim.rng.uniform(3000, 8000))
        stan = sim.next_stan()
        if sim.window("outage"):
            sim.txn("settle", stan, "conn_fail", sim.batch, latency=5000)
        else:
            sim.txn("settle", stan, "sent", sim.batch)
            latency = sim.device().rtt() + sim.rng.randint(800, 3000)
            sim.wait(latency)
            sim.txn("settle", stan, "response", sim.batch, "00", latency)
        sim.screen("idle")
        sim.wait(sim.rng.uniform(5000, 60000))
        sim.logout()
        sim.wait(sim.rng.uniform(20_000, 300_000))
        sim.exit_app("normal")

    def run(self) -> None:
        sim = self.sim
        sim.day = self.d
        sessions = day_sessions(sim.spec.roster, self.d, sim.rng)
        sim.midnight = EPOCH0 + self.d * DAY_MS - LOCAL_MS
        t_open = sim.at(sessions[0][1] - sim.rng.uniform(0.1, 0.4))
        t_close = sim.at(sessions[-1][2])
        sim.t = max(sim.t, t_open)
        if self.d:
            sim.dev.night(sim.rng)
        else:
            sim.dev.window_start = sim.t
        sim.dev.t = sim.t
        sim.batch, sim.approved_today = 0, []
        push = sim.spec.params_push
        if push and push[0] == self.d and push[1] is None:
            sim.pending_params = push[2]
        self.plan(sessions, t_open, t_close)
        sim.boot(True)
        self.serve(_arrivals(sim, sessions))
        self.run_agenda(t_close)
        if sim.t < t_close:
            sim.wait(t_close - sim.t)
        self.settle(sessions[-1][0])
