"""One simulated payment flow, screen by screen: amount, card (with the operator's slips and read
errors), PIN, the online exchange and the receipt. A flow given up early raises Aborted."""

from __future__ import annotations

from steadypos.eventlog import (
    CardError,
    CardMethod,
    EventType,
    ExitReason,
    NetEvent,
    PinOutcome,
    Screen,
    TxnKind,
    TxnPhase,
)
from steadypos.fleetsim.hazards import hazards, print_receipt, read_error, response_code
from steadypos.fleetsim.terminal import HANG, Aborted, TerminalSim

NEEDS_PIN: dict[str, float] = {
    CardMethod.SWIPE: 0.8, CardMethod.CHIP: 0.85, CardMethod.CONTACTLESS: 0.15, CardMethod.QR: 0.0,
}  # fmt: skip
PARAMETER_RCS = ("03", "58", "A0", "97")


def _give_up(sim: TerminalSim, t: float, fault: bool) -> None:
    sim.screen(t, Screen.IDLE)
    if fault:
        sim.fault()
    raise Aborted(t)


def _method(sim: TerminalSim) -> tuple[str, str]:
    """(card, method): what the customer carries and how it is presented."""
    rng = sim.rng
    kind = rng.random()
    swipe = sim.p.swipe_share
    card = "mag" if kind < swipe * 0.5 else "qr" if kind < swipe * 0.5 + 0.1 else "chip"
    method = {"mag": CardMethod.SWIPE, "qr": CardMethod.QR}.get(card, CardMethod.CHIP)
    if card == "chip":
        if rng.random() < 0.3:
            method = CardMethod.CONTACTLESS
        elif rng.random() < swipe * 0.5:
            method = CardMethod.SWIPE  # a chip card that the customer prefers to swipe
    return card, method


def _card(sim: TerminalSim, t: float, day: int, careless: bool) -> tuple[float, str]:
    p, rng = sim.p, sim.rng
    sim.screen(t, Screen.CARD)
    t += rng.uniform(2, 5)
    card, method = _method(sim)
    wrong = 0.25 if careless else 0.006
    if card == "chip" and method == CardMethod.CHIP and rng.random() < wrong:
        sim.emit(t, EventType.CARD, method=CardMethod.SWIPE, ok=False,
                 error=CardError.WRONG_METHOD)  # fmt: skip
        t += rng.uniform(3, 7)
        if careless and rng.random() < 0.45:
            _give_up(sim, t, True)
    for attempt in range(3):
        err = read_error(sim, t, method, day)
        if err is None:
            sim.emit(t, EventType.CARD, method=method, ok=True, error=None)
            break
        sim.emit(t, EventType.CARD, method=method, ok=False, error=err)
        t += rng.uniform(3, 8)
        static = p.label == "environment_interference" and err in (CardError.BAD_READ,
                                                                    CardError.LRC)  # fmt: skip
        if static and rng.random() < 0.12:
            sim.fault()
            sim.go_down(t, ExitReason.WATCHDOG, None)  # static discharge resets the terminal
        if attempt == 2 or rng.random() < 0.25:  # the operator gives up on the card
            _give_up(sim, t, p.label in ("maintenance_overdue", "environment_interference"))
    return t, method


def _pin(sim: TerminalSim, t: float, day: int, careless: bool) -> float:
    rng = sim.rng
    sim.screen(t, Screen.PIN)
    t += rng.uniform(4, 12)
    hazards(sim, t, "pin")
    timeout = 0.12 if careless else 0.004
    cancel = 0.05 if careless else 0.02
    r = rng.random()
    if r < timeout:
        sim.emit(t + 30, EventType.PIN, outcome=PinOutcome.TIMEOUT)
        _give_up(sim, t + 31, careless)
    if r < timeout + cancel:
        sim.emit(t, EventType.PIN, outcome=PinOutcome.CANCELLED)
        _give_up(sim, t + 1, False)
    sim.emit(t, EventType.PIN, outcome=PinOutcome.ENTERED)
    return t + 0.5


def _lost_link(sim: TerminalSim, t: float, outage: bool) -> None:
    """No answer: timeout or conn_fail; mostly back to idle, sometimes a result."""
    p, rng = sim.p, sim.rng
    phase = TxnPhase.CONN_FAIL if outage and rng.random() < 0.5 else TxnPhase.TIMEOUT
    wait = 30.0 if phase == TxnPhase.TIMEOUT else rng.uniform(1, 6)
    if outage and rng.random() < 0.5:
        sim.emit(t + 0.5, EventType.NET,
                 event=rng.choice((NetEvent.DOWN, NetEvent.CONNECT_FAIL, NetEvent.RESET)),
                 signal_dbm=int(p.signal - rng.uniform(0, 8)))  # fmt: skip
    sim.emit(t + wait, EventType.TXN, kind=TxnKind.SALE, stan=sim.stan, phase=phase,
             latency_ms=int(wait * 1000))  # fmt: skip
    t += wait
    # on a network terminal the site's bad link lost this answer (it fails 15x as often as
    # elsewhere and its signal is under -100 dBm: the document's evidence, outage or not); it is a
    # flash-exit (counted for the ground truth) only when the flow then breaks, not when it ends
    # on a result screen
    mine = p.label == "network"
    if mine and not outage:
        rng.random()  # a coin an earlier version drew here, kept so a seed writes the same events
    r = rng.random()
    if r < 0.08 and outage:
        if mine:
            sim.fault()
        sim.go_down(t + 5, ExitReason.ANR, HANG)
    if r < 0.7:
        _give_up(sim, t + 1, mine)
    sim.screen(t + 1, Screen.RESULT)
    sim.screen(t + 4, Screen.IDLE)
    raise Aborted(t + 4)


def _fail_chance(sim: TerminalSim, t: float, outage: bool) -> float:
    if outage:
        return 0.85
    if sim.p.label == "network":
        return 0.03
    return 0.3 if sim.host_slow(t) else 0.002


def _online(sim: TerminalSim, t: float, careless: bool) -> float:
    p, rng = sim.p, sim.rng
    sim.screen(t, Screen.ONLINE)
    sim.stan += 1
    amount = int(rng.lognormvariate(8.5, 1.0)) + 1  # fen
    sim.emit(t, EventType.TXN, kind=TxnKind.SALE, stan=sim.stan, phase=TxnPhase.SENT,
             amount=amount)  # fmt: skip
    outage = sim.in_outage(t)
    if rng.random() < _fail_chance(sim, t, outage):
        _lost_link(sim, t, outage)
    latency = int(rng.uniform(250, 1800) * (2.5 if p.label == "network" else 1))
    t += latency / 1000
    hazards(sim, t, "online")
    rc = response_code(sim, careless)
    if rc == "MAC":
        sim.emit(t, EventType.TXN, kind=TxnKind.SALE, stan=sim.stan, phase=TxnPhase.MAC_FAIL)
        _give_up(sim, t + 1, True)
    sim.emit(t, EventType.TXN, kind=TxnKind.SALE, stan=sim.stan, phase=TxnPhase.RESPONSE, rc=rc,
             latency_ms=latency)  # fmt: skip
    if rc != "00":
        abort = 0.0
        if rc == "55" and careless:
            abort = 0.7
        elif rc in PARAMETER_RCS and sim.mismatched:
            abort = 0.6
        elif rc == "30" and p.label == "outdated_software":
            abort = 0.65
        if rng.random() < abort:
            _give_up(sim, t + 1, True)
        sim.screen(t + 1, Screen.RESULT)
        sim.screen(t + 4, Screen.IDLE)
        raise Aborted(t + 4)
    return t


def flow(sim: TerminalSim, t: float, day: int) -> float:
    """Run one sale from the amount screen; returns when the terminal is free again."""
    p, rng = sim.p, sim.rng
    sim.recent.append(t)
    careless = sim.operator in p.careless
    sim.screen(t, Screen.AMOUNT)
    t += rng.uniform(2, 6)
    if careless and rng.random() < 0.07:
        _give_up(sim, t, True)  # abandoned mid-way
    t, method = _card(sim, t, day, careless)
    t += rng.uniform(0.5, 2)
    hazards(sim, t, "card")
    if rng.random() < NEEDS_PIN[method]:
        t = _pin(sim, t, day, careless)
    t = _online(sim, t, careless)
    sim.screen(t + 0.3, Screen.RECEIPT)
    t += rng.uniform(2, 4)
    print_receipt(sim, t, day)
    sim.screen(t, Screen.RESULT)
    sim.screen(t + rng.uniform(2, 4), Screen.IDLE)
    return t + 4
