"""A simulated terminal before and after its remedy: the days up to the remedy run with the fault
as dealt, then the remedy changes the terminal (maintenance cleans the printer, training teaches
the careless operators) and the remaining days run without it. What the demo's loop replays."""

from __future__ import annotations

from enum import StrEnum

from steadypos.diagnose.taxonomy import NONE
from steadypos.fleetsim.day import TerminalDay
from steadypos.fleetsim.plan import Fleet, Plan, plan_fleet
from steadypos.fleetsim.terminal import TerminalSim

Day = list[dict[str, object]]  # one simulated day's events, in time order


class Remedy(StrEnum):
    MAINTENANCE = "maintenance"
    TRAINING = "training"


# What each remedy cures: the causes that stop once it is done.
CURES: dict[Remedy, frozenset[str]] = {
    Remedy.MAINTENANCE: frozenset({"hardware_printer", "maintenance_overdue"}),
    Remedy.TRAINING: frozenset({"training_gap", "operator_error"}),
}


def fleet_with(labels: tuple[str, ...], terminals: int, days: int,
               seed: int) -> tuple[Fleet, dict[str, Plan]]:
    """A planned fleet and, for each label asked for, its first terminal with that cause."""
    fleet = plan_fleet(terminals, days, seed)
    found = {label: next(p for p in fleet.plans if p.label == label) for label in labels}
    return fleet, found


def mend(plan: Plan, remedy: Remedy) -> None:
    """The remedy done on the terminal: its cause is gone from now on (a remedy that does not
    fit the cause changes nothing)."""
    if plan.label not in CURES[remedy]:
        return
    if remedy is Remedy.TRAINING:
        plan.trained |= plan.careless
        plan.careless = set()
    plan.label = NONE


def replay(plan: Plan, fleet: Fleet, seed: int, remedy: Remedy, on_day: int) -> list[Day]:
    """The terminal's days, the remedy done at the start of day `on_day`."""
    sim = TerminalSim(plan, fleet, seed)
    days: list[Day] = []
    for n in range(fleet.days):
        if n == on_day:
            mend(plan, remedy)
        days.append([ev for _, _, ev in TerminalDay(sim, n).run()])
    return days
