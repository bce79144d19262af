"""Runbooks as data: for each cause (a diagnosis label or a telemetry rule) the seed's remedy
as ordered steps from the i18n catalogue (`runbook.<cause>.<n>`, Chinese and English), the
figure its check measures, and the one-click actions the TMS can take itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from steadypos import i18n


class Figure(StrEnum):
    """What a remedy's check measures; for each, lower is better except the crash-free rate."""

    CRASHES_PER_DAY = "crashes_per_day"
    EPISODES_PER_DAY = "episodes_per_day"
    CRASH_FREE_RATE = "crash_free_rate"
    MISMATCHES = "mismatches"
    MISSING_TERMINALS = "missing_terminals"


class Action(StrEnum):
    PUSH_PARAMETERS = "push_parameters"
    HOLD_RELEASE = "hold_release"
    SCHEDULE_MAINTENANCE = "schedule_maintenance"
    ASSIGN_TRAINING = "assign_training"


class TelemetryCause(StrEnum):
    """Telemetry rules: causes that are not diagnosis labels."""

    MISSING_HEARTBEAT = "missing_heartbeat"
    ROLLOUT_HALTED = "rollout_halted"
    RELEASE_REFUSED = "release_refused"
    OVERHEAT_READING = "overheat_reading"
    BATTERY_LOW = "battery_low"
    PRINTER_FAULT = "printer_fault"
    PENDING_REVERSALS = "pending_reversals"


@dataclass(frozen=True)
class RemedyPlan:
    """What a cause's remedy is checked by, and the actions the TMS can take itself."""

    figure: Figure
    actions: tuple[Action, ...]


F, A = Figure, Action
MAINTAIN = (A.SCHEDULE_MAINTENANCE,)
PLANS: dict[str, RemedyPlan] = {
    "software_defect": RemedyPlan(F.CRASHES_PER_DAY, (A.HOLD_RELEASE,)),
    "compatibility": RemedyPlan(F.CRASH_FREE_RATE, (A.HOLD_RELEASE,)),
    "outdated_software": RemedyPlan(F.CRASHES_PER_DAY, ()),
    "hardware_memory": RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    "hardware_overheat": RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    "hardware_power": RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    "hardware_printer": RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    "network": RemedyPlan(F.MISSING_TERMINALS, ()),
    "parameter_mismatch": RemedyPlan(F.MISMATCHES, (A.PUSH_PARAMETERS,)),
    "environment_interference": RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    # An operator's slips break flows without crashing the app: counted as episodes.
    "operator_error": RemedyPlan(F.EPISODES_PER_DAY, (A.ASSIGN_TRAINING,)),
    "training_gap": RemedyPlan(F.EPISODES_PER_DAY, (A.ASSIGN_TRAINING,)),
    "maintenance_overdue": RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    TelemetryCause.MISSING_HEARTBEAT: RemedyPlan(F.MISSING_TERMINALS, ()),
    TelemetryCause.ROLLOUT_HALTED: RemedyPlan(F.CRASH_FREE_RATE, (A.HOLD_RELEASE,)),
    TelemetryCause.RELEASE_REFUSED: RemedyPlan(F.CRASH_FREE_RATE, (A.HOLD_RELEASE,)),
    TelemetryCause.OVERHEAT_READING: RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    TelemetryCause.BATTERY_LOW: RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    TelemetryCause.PRINTER_FAULT: RemedyPlan(F.CRASHES_PER_DAY, MAINTAIN),
    TelemetryCause.PENDING_REVERSALS: RemedyPlan(F.CRASHES_PER_DAY, ()),
}
DEFAULT = RemedyPlan(F.CRASHES_PER_DAY, ())


def plan(cause: str) -> RemedyPlan:
    return PLANS.get(cause, DEFAULT)


def steps(cause: str, lang: str = i18n.FALLBACK) -> list[str]:
    """The runbook's ordered steps in `lang` (every cause has them in both languages)."""
    texts = i18n.catalogue(lang)
    found = []
    for n in range(1, 20):
        text = texts.get(f"runbook.{cause}.{n}")
        if text is None:
            break
        found.append(text)
    return found


def runbook(cause: str, done: list[int]) -> list[dict[str, object]]:
    """Steps as the API gives them: number, both languages, whether it is ticked off."""
    return [{"n": n, "en": en, "zh": zh, "done": n in done}
            for n, (en, zh) in enumerate(zip(steps(cause, "en"), steps(cause, "zh"),
                                             strict=True), 1)]
