"""How each cause shows in a flow: read errors, response codes, printer faults, and the ways the
app goes away at a flow's step (heat, memory, power, interference, bad releases)."""

from __future__ import annotations

from steadypos.eventlog import CardError, CardMethod, ExitReason, PrinterState, Screen
from steadypos.fleetsim.catalog import (
    APP_PKG,
    BAD_RELEASE,
    COMPAT_CRASH,
    OOM,
    OUTDATED_CRASH,
    RANDOM_CRASHES,
    SOFTWARE_CRASHES,
)
from steadypos.fleetsim.terminal import Aborted, TerminalSim, covers

SOFTWARE_LABELS = ("software_defect", "compatibility", "outdated_software")
PRINTER_CRASH = ("com.pax.dal.exceptions.PrinterDevException",
                 ("com.pax.dal.IPrinter.start", f"{APP_PKG}.print.Printer.print"))  # fmt: skip


USUAL_READ_ERRORS = 0.01  # a card read fails this often on any terminal
USUAL_JAMS = 0.0015  # and a print jams this often


def read_error(sim: TerminalSim, t: float, method: str, day: int) -> tuple[str | None, bool]:
    """(the read's error or None, whether the terminal's cause made it): of the one draw, the
    share under USUAL_READ_ERRORS is the error every reader makes, healthy ones included, so a
    flow given up on it is no flash-exit of the cause (ground truth); the events are the same."""
    p, rng = sim.p, sim.rng
    prob = USUAL_READ_ERRORS
    if p.label == "maintenance_overdue":
        prob = 0.03 + 0.022 * day
    if covers(sim.interference, t) and method == CardMethod.SWIPE:
        prob = 0.65
    r = rng.random()
    if r >= prob:
        return None, False
    caused = r >= USUAL_READ_ERRORS
    if method == CardMethod.SWIPE:
        return rng.choice((CardError.BAD_READ, CardError.BAD_READ, CardError.LRC)), caused
    if method == CardMethod.CHIP:
        return rng.choice((CardError.CHIP_MUTE, CardError.BAD_READ)), caused
    if method == CardMethod.QR:
        return CardError.NO_CODE, caused
    return CardError.BAD_READ, caused


def response_code(sim: TerminalSim, careless: bool) -> str:
    """F39 of the host's answer, or "MAC" for a response whose MAC fails."""
    p, rng = sim.p, sim.rng
    r = rng.random()
    if sim.mismatched and r < 0.45:
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


def print_receipt(sim: TerminalSim, t: float, day: int) -> None:
    """Print; a jam or head fault is read at once and gives the flow up (Aborted). One under
    USUAL_JAMS of the draw is the jam any printer has: not the cause's fault (ground truth)."""
    p, rng = sim.p, sim.rng
    jam = USUAL_JAMS
    if p.label == "hardware_printer":
        jam = 0.13
    elif p.label == "maintenance_overdue":
        jam = 0.01 + 0.012 * day
    r = rng.random()
    if r < jam:
        if p.label != "maintenance_overdue":
            status = rng.choice((PrinterState.JAM, PrinterState.HEAD_FAULT))
        else:
            status = PrinterState.HEAD_FAULT
        sim.health(t, printer=status)
        if p.label in ("hardware_printer", "maintenance_overdue") and r >= USUAL_JAMS:
            sim.fault()
        if rng.random() < 0.15:
            sim.go_down(t + 2, ExitReason.CRASH, PRINTER_CRASH)
        sim.screen(t + rng.uniform(5, 20), Screen.IDLE)
        raise Aborted(t + 20)
    if rng.random() < 0.004:
        sim.health(t, printer=PrinterState.PAPER_OUT)


def _device_hazards(sim: TerminalSim, t: float, stage: str) -> None:
    p, rng = sim.p, sim.rng
    label = p.label
    if label == "hardware_overheat" or sim.temp > 70:
        sim.heat(t, 60)
        if sim.temp > 76 and rng.random() < min(0.6, (sim.temp - 75) * 0.08):
            if label == "hardware_overheat":
                sim.fault()
            exc = rng.choice(RANDOM_CRASHES) if rng.random() < 0.35 else None
            sim.go_down(t, ExitReason.WATCHDOG if exc is None else ExitReason.CRASH, exc)
    if label == "hardware_memory" and stage == "card":
        sim.mem_free -= rng.uniform(8, 20)
        if sim.mem_free < 40:
            sim.fault()
            r = rng.random()
            if r < 0.5:
                sim.go_down(t, ExitReason.CRASH, OOM)
            sim.go_down(t, ExitReason.KILLED if r < 0.8 else ExitReason.ANR, None)
    elif stage == "card":
        sim.mem_free += rng.uniform(-8, 8) + (p.mem_total * 0.45 - sim.mem_free) * 0.05
    unstable = covers(sim.unstable, t)
    if label == "hardware_power" and unstable and rng.random() < 0.05:
        sim.fault()
        sim.go_down(t, ExitReason.POWER_LOSS, None, logged=rng.random() < 0.75)
    if label == "hardware_power" and p.dead_battery and sim.battery <= 1:
        sim.fault()
        sim.battery = 100.0
        sim.go_down(t, ExitReason.POWER_LOSS, None, logged=rng.random() < 0.6)
    field = covers(sim.interference, t)
    if label == "environment_interference" and stage == "pin" and field and rng.random() < 0.08:
        sim.fault()
        sim.go_down(t, ExitReason.WATCHDOG, None)


def hazards(sim: TerminalSim, t: float, stage: str) -> None:
    """Ways the app can go away at this point of a flow, by cause (and the odd random one)."""
    p, rng = sim.p, sim.rng
    label = p.label
    _device_hazards(sim, t, stage)
    if label == "software_defect" and sim.version == BAD_RELEASE:
        for name, frames, where in SOFTWARE_CRASHES:
            if stage == where and rng.random() < 0.05:
                sim.fault()
                sim.go_down(t, ExitReason.CRASH if where == "online" else ExitReason.ANR,
                            (name, frames))  # fmt: skip
    if label == "compatibility" and stage in ("card", "pin") and rng.random() < 0.035:
        sim.fault()
        sim.go_down(t, ExitReason.CRASH, COMPAT_CRASH)
    if label == "outdated_software" and stage == "online" and rng.random() < 0.02:
        sim.fault()
        sim.go_down(t, ExitReason.CRASH, OUTDATED_CRASH)
    if label not in SOFTWARE_LABELS and rng.random() < 0.0001:
        sim.go_down(t, ExitReason.CRASH, rng.choice(RANDOM_CRASHES))
