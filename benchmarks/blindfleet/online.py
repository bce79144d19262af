"""The request/response exchange of a flow's `online` step, over a link that may be down.

A link already down gives `conn_fail`; a link lost while the request is in flight gives a
`timeout` and a reversal (冲正) owed; the cause decides whether the app survives it (result) or
drops back to idle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .model import Break, Broken, Flow, Window

if TYPE_CHECKING:
    from .sim import Sim

SIGN = {"sale": 1, "void": -1, "refund": -1}


def announce(sim: Sim, w: Window) -> None:
    """Log the start of an outage once, whoever notices it first (a flow or the clock)."""
    if not w.announced:
        w.announced = True
        sim.emit("net", event=w.data.get("event", "down"), signal_dbm=sim.device().dbm(),
                 latency_ms=sim.rng.randint(1500, 8000))


def _lost(sim: Sim, flow: Flow, amount: int, phase: str, waited: int) -> None:
    sim.txn(flow.kind, flow.stan, phase, amount, latency=waited)
    if sim.cause.flash_on_link(flow):
        raise _broken()
    if phase == "timeout" and flow.kind != "balance":
        sim.pending_reversal = amount
    flow.outcome = "failed"


def _broken() -> Broken:
    return Broken(Break(None, delay_ms=(300, 2500)))


def exchange(sim: Sim, flow: Flow, host_rc: Callable[[Sim, Flow], str]) -> None:
    rng, dev = sim.rng, sim.device()
    if sim.pending_reversal is not None and not sim.window("outage"):
        sim.send_reversal()
    amount = flow.cust.amount if flow.kind != "balance" else 0
    flow.stan = sim.next_stan()
    down = sim.window("outage")
    if down:
        announce(sim, down)
        waited = rng.randint(3000, 9000)
        sim.wait(waited)
        return _lost(sim, flow, amount, "conn_fail", waited)
    sim.wait(sim.ms(30, 250))  # pack, MAC, connect
    sim.txn(flow.kind, flow.stan, "sent", amount)
    flow.outcome = "sent"
    sent_at = sim.t
    answer = sim.cause.answer(flow)
    if answer is None and rng.random() < 0.0015:
        answer = ("timeout", None)
    latency = dev.rtt() + rng.randint(250, 900)
    drop = next((w for w in sim.windows if w.kind == "outage"
                 and sim.t < w.start <= sim.t + latency), None)
    if drop:
        sim.wait(drop.start - sim.t)
        announce(sim, drop)
        answer = ("timeout", None)
    phase, rc = answer or ("response", host_rc(sim, flow))
    if phase in ("timeout", "conn_fail"):
        limit = sim.spec.timeout_ms if phase == "timeout" else rng.randint(3000, 9000)
        sim.wait(max(0, sent_at + limit - sim.t))
        return _lost(sim, flow, amount, phase, limit)
    sim.wait(latency)
    if phase == "mac_fail":
        sim.txn(flow.kind, flow.stan, "mac_fail", amount, latency=latency)
    else:
        sim.txn(flow.kind, flow.stan, "response", amount, rc, latency)
    sim.device().work(False)
    flow.rc = rc or ""
    brk = sim.cause.after_answer(flow, phase, rc)
    if brk:
        raise Broken(brk)
    flow.outcome = "approved" if rc == "00" else "declined"
    if flow.outcome == "approved" and flow.kind in SIGN:
        sim.batch += SIGN[flow.kind] * amount
        if flow.kind == "sale":
            sim.approved_today.append(amount)
