"""A payment flow on the counter, screen by screen, with the ordinary noise of a healthy terminal.

idle -> amount -> card -> pin (when the card needs one) -> online -> receipt (approved) -> result
-> idle. Wrong PINs, declines, a chip card swiped first, a cancelled PIN, a slow customer, a lost
link that the app handles: all end on `result` (or a PIN cancel) and so are not flash-exits.
A cause's hook may end the flow anywhere else.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import catalog as C
from .model import Break, Broken, Customer, Flow
from .online import exchange

if TYPE_CHECKING:
    from .sim import Sim

METHOD = {"chip_debit": "chip", "chip_credit": "chip", "contactless": "contactless",
          "magstripe": "swipe", "qr": "qr"}
NO_PIN_LIMIT = 100_000  # contactless up to 1000 yuan needs no PIN


def new_customer(sim: Sim) -> Customer:
    rng, spec = sim.rng, sim.spec
    median, spread = C.MERCHANT_KINDS[spec.kind][5:7]
    amount = max(100, int(median * math.exp(rng.gauss(0, spread))))
    step = {"restaurant": 100, "fuel": 1000}.get(spec.kind, 10)
    if spec.kind == "fuel" and rng.random() < 0.5:
        step = 5000
    amount = max(step, amount // step * step)
    qr = C.vtuple(sim.app_version) >= C.vtuple(C.QR_SINCE)
    u = rng.random()
    if u < sim.cause.swipe_share:
        card = "magstripe"
    elif qr and u < 0.27:
        card = "qr"
    elif u < 0.47 and amount <= NO_PIN_LIMIT:
        card = "contactless"
    else:
        card = "chip_debit" if rng.random() < 0.7 else "chip_credit"
    return Customer(card, amount, slow=rng.random() < 0.06)


def _check(sim: Sim, flow: Flow, step: str) -> None:
    sim.device()
    brk = sim.cause.at(step, flow)
    if brk:
        raise Broken(brk)


def _amount(sim: Sim, flow: Flow) -> None:
    sim.screen("amount")
    flow.screen = "amount"
    _check(sim, flow, "amount")
    sim.wait(sim.op.pace * sim.rng.uniform(2500, 9000) if sim.op else 4000)
    if sim.rng.random() < flow.rates["abandon"] * 0.45:
        raise Broken(Break(None, delay_ms=(2000, 9000)))


def _read_error(sim: Sim, flow: Flow, method: str) -> str | None:
    rng, wear = sim.rng, sim.device().wear()
    base = {"swipe": wear, "chip": wear * 0.5, "contactless": 0.012, "qr": 0.015}[method]
    extra = sim.cause.card_error(flow, method)
    if extra:
        return extra
    if rng.random() < base:
        return {"swipe": rng.choice(["bad_read", "lrc"]), "chip": "chip_mute",
                "contactless": "bad_read", "qr": "no_code"}[method]
    return None


def _card(sim: Sim, flow: Flow) -> bool:
    """Read the card; False when every try failed (the app shows a read error as the result)."""
    rng = sim.rng
    sim.screen("card")
    flow.screen = "card"
    _check(sim, flow, "card")
    sim.wait(rng.uniform(1500, 6000))
    method = METHOD[flow.cust.card]
    if method == "chip" and rng.random() < flow.rates["wrong_method"]:
        err = sim.cause.card_error(flow, "swipe") or "wrong_method"
        sim.emit("card", method="swipe", ok=False, error=err)
        sim.wait(rng.uniform(2000, 5000))
    while method == "qr" and rng.random() < flow.rates.get("qr_fumble", 0.0):
        sim.emit("card", method="qr", ok=False, error="no_code")
        sim.wait(rng.uniform(3000, 9000))
        if rng.random() < flow.rates["abandon"]:
            raise Broken(Break(None, delay_ms=(2000, 8000)))
    for attempt in range(4):
        err = _read_error(sim, flow, method)
        sim.emit("card", method=method, ok=err is None, error=err)
        if err is None:
            break
        sim.wait(rng.uniform(2000, 5000))
        if method == "contactless" and attempt == 1:
            method = "chip"
    else:
        return False
    flow.method = method
    _check(sim, flow, "card_read")
    if rng.random() < flow.rates["abandon"] * 0.55:
        raise Broken(Break(None, delay_ms=(3000, 12000)))
    card = flow.cust.card
    flow.pin = flow.kind in ("sale", "balance") and (
        card in ("chip_debit", "magstripe") or (card == "chip_credit" and rng.random() < 0.5)
        or (method == "chip" and card == "contactless"))
    return True


def _pin(sim: Sim, flow: Flow) -> str:
    rng, rates = sim.rng, flow.rates
    sim.screen("pin")
    flow.screen = "pin"
    _check(sim, flow, "pin")
    pace = sim.op.pace if sim.op else 1.0
    sim.wait(pace * rng.uniform(1000, 3000) + rng.uniform(2500, 8000) * (2 if flow.cust.slow
                                                                         else 1))
    r = rng.random()
    if r < rates["pin_cancel"]:
        sim.emit("pin", outcome="cancelled")
        sim.wait(rng.uniform(400, 1500))
        sim.screen("idle")
        return "cancelled"
    if r < rates["pin_cancel"] + (0.02 if flow.cust.slow else 0.001):
        sim.wait(rng.uniform(25000, 40000))
        sim.emit("pin", outcome="timeout")
        return "timeout"
    if rng.random() < rates["pin_flash"]:
        sim.wait(rng.uniform(25000, 40000))
        sim.emit("pin", outcome="timeout")
        raise Broken(Break(None, delay_ms=(200, 1200)))
    sim.emit("pin", outcome="entered")
    _check(sim, flow, "pin_entered")
    return "entered"


def _host_rc(sim: Sim, flow: Flow) -> str:
    rng = sim.rng
    if flow.pin and rng.random() < 0.012 * flow.rates["wrong_pin"]:
        return "55"
    if flow.kind == "sale":
        for rc, p in C.DECLINES:
            if rng.random() < p:
                return rc
    return "00"


def _online(sim: Sim, flow: Flow) -> None:
    sim.screen("online")
    flow.screen = "online"
    _check(sim, flow, "online")
    exchange(sim, flow, _host_rc)


def _receipt(sim: Sim, flow: Flow) -> None:
    rng, dev = sim.rng, sim.device()
    sim.screen("receipt")
    flow.screen = "receipt"
    _check(sim, flow, "receipt")
    for _copy in range(1 if flow.method == "qr" else 2):
        if dev.paper_left <= 0:
            dev.printer = "paper_out"
            dev.printer_until = sim.t + 600_000
            sim.health_now()
            sim.wait(rng.uniform(40_000, 150_000))
            dev.paper_left = rng.randint(170, 230)
            dev.printer = "ok"
        _check(sim, flow, "print")
        sim.wait(rng.uniform(2200, 4500))
        dev.paper_left -= 1
    sim.device().work(True)


def run_flow(sim: Sim, cust: Customer, kind: str, pressure: int) -> Flow:
    """One customer at the counter; the flow's outcome is approved, declined, cancelled,
    timeout, failed or broken."""
    op = sim.op
    rates = op.rates(pressure, sim.day, sim.hour()) if op else {
        "wrong_method": 0.02, "abandon": 0.0, "pin_flash": 0.0, "pin_cancel": 0.006,
        "wrong_pin": 1.0}
    flow = Flow(kind, cust, rates)
    sim.cause.adjust_rates(flow)
    try:
        if kind != "balance":
            _amount(sim, flow)
        if not _card(sim, flow):
            flow.outcome = "failed"
        elif flow.pin and (outcome := _pin(sim, flow)) != "entered":
            flow.outcome = outcome
        else:
            _online(sim, flow)
            if flow.outcome == "approved" and kind != "balance":
                _receipt(sim, flow)
        if flow.outcome != "cancelled":
            sim.screen("result")
            flow.screen = "result"
            sim.wait(sim.rng.uniform(1500, 4000))
            sim.screen("idle")
    except Broken as broken:
        if flow.stan and kind != "balance" and flow.screen == "online":
            sim.pending_reversal = cust.amount
        flow.outcome = "broken"
        sim.apply_break(broken.brk)
    if op:
        op.served += 1
    return flow
