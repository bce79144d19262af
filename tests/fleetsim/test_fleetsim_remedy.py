"""A simulated terminal before and after its remedy: maintenance stops a printer jamming,
training stops an untrained operator's slips; a remedy that does not fit the cause changes
nothing (the fault goes on, as the TMS's check then sees)."""

from __future__ import annotations

from typing import Any

from steadypos.fleetsim.remedy import Remedy, fleet_with, replay

SEED, TERMINALS, DAYS, ON_DAY = 3, 26, 6, 3


def jams(days: list[list[dict[str, Any]]]) -> int:
    return sum(1 for d in days for ev in d
               if ev["type"] == "health" and ev.get("printer") in ("jam", "head_fault"))


def wrong_pins(days: list[list[dict[str, Any]]]) -> int:
    return sum(1 for d in days for ev in d if ev["type"] == "txn" and ev.get("rc") == "55")


def run(label: str, remedy: Remedy) -> list[list[dict[str, Any]]]:
    fleet, plans = fleet_with((label,), TERMINALS, DAYS, SEED)
    return replay(plans[label], fleet, SEED, remedy, ON_DAY)


def test_maintenance_stops_the_printer_jamming() -> None:
    days = run("hardware_printer", Remedy.MAINTENANCE)
    assert len(days) == DAYS
    assert jams(days[:ON_DAY]) >= 10 and jams(days[ON_DAY:]) <= 1


def test_training_stops_the_slips() -> None:
    days = run("training_gap", Remedy.TRAINING)
    assert wrong_pins(days[:ON_DAY]) >= 3 * max(1, wrong_pins(days[ON_DAY:]))


def test_a_remedy_that_does_not_fit_changes_nothing() -> None:
    days = run("hardware_printer", Remedy.TRAINING)
    assert jams(days[ON_DAY:]) >= 10
