"""The seed's 13 flash-exit causes plus `none`, their remedies (actions) and colours, as data;
the thresholds the document gives."""

from __future__ import annotations

from enum import StrEnum

from steadypos.eventlog import ExitReason


class Cause(StrEnum):
    """A diagnosis label (docs/flash-exit-diagnosis.md, "Causes")."""

    SOFTWARE_DEFECT = "software_defect"
    COMPATIBILITY = "compatibility"
    OUTDATED_SOFTWARE = "outdated_software"
    HARDWARE_MEMORY = "hardware_memory"
    HARDWARE_OVERHEAT = "hardware_overheat"
    HARDWARE_POWER = "hardware_power"
    HARDWARE_PRINTER = "hardware_printer"
    NETWORK = "network"
    PARAMETER_MISMATCH = "parameter_mismatch"
    ENVIRONMENT_INTERFERENCE = "environment_interference"
    OPERATOR_ERROR = "operator_error"
    TRAINING_GAP = "training_gap"
    MAINTENANCE_OVERDUE = "maintenance_overdue"
    NONE = "none"


NONE = Cause.NONE
LABELS: tuple[Cause, ...] = tuple(c for c in Cause if c is not Cause.NONE)
ALL_LABELS: tuple[Cause, ...] = tuple(Cause)
SOFTWARE_CAUSES = (Cause.SOFTWARE_DEFECT, Cause.COMPATIBILITY, Cause.OUTDATED_SOFTWARE)

# What the seed calls each cause (for people reading the report).
SEED_CAUSE: dict[str, str] = {
    "software_defect": "software fault, unstable system (软件故障或系统不稳定)",
    "compatibility": "brands/models that do not fit the software (系统兼容性问题)",
    "outdated_software": "software not updated (软件更新不及时)",
    "hardware_memory": "memory error (内存错误)",
    "hardware_overheat": "processor overheating (处理器过热)",
    "hardware_power": "unstable power: crashes or power-off (电源不稳定引起的死机或断电)",
    "hardware_printer": "printer head fault / paper jam (打印头故障导致的卡纸堵塞)",
    "network": "unstable network (网络连接不稳定)",
    "parameter_mismatch": "parameters that do not match the bank's (参数设置错误)",
    "environment_interference": "strong magnetic field, static (强磁场干扰、静电干扰)",
    "operator_error": "wrong PIN, wrong payment method, misuse (用户操作不当)",
    "training_gap": "insufficient training, new features (培训不足)",
    "maintenance_overdue": "maintenance not done (维护不到位)",
    NONE: "no flash-exit",
}

# The seed's remedies, one list per cause: what the report tells people to do.
ACTIONS: dict[str, tuple[str, ...]] = {
    "software_defect": (
        "fix the defect and release a corrected version",
        "roll back the faulty app version on the affected terminals",
        "test releases on a few terminals before a fleet rollout",
    ),
    "compatibility": (
        "keep a compatibility matrix of brand/model/firmware against app versions",
        "move the terminals to a certified firmware",
        "block the rollout to this brand/model/firmware until it is certified",
    ),
    "outdated_software": (
        "update the payment app to the fleet's current version",
        "enforce a minimum supported version in the TMS",
    ),
    "hardware_memory": (
        "repair or replace the terminal (memory fault)",
        "free storage and memory: remove unused apps and old logs",
    ),
    "hardware_overheat": (
        "improve ventilation: keep the terminal out of the sun and off hot surfaces",
        "send the terminal for repair (fan, thermal paste, board)",
    ),
    "hardware_power": (
        "check the power cable and adapter; use a stable socket",
        "replace the battery",
    ),
    "hardware_printer": (
        "clean the print head; replace it if faulty",
        "load paper correctly, with the right roll size",
    ),
    "network": (
        "stabilise the link: check the router, SIM and signal at the counter",
        "add a backup link (Wi-Fi plus 4G)",
    ),
    "parameter_mismatch": (
        "re-download the parameters from the TMS",
        "verify the terminal's parameters (TID, MID, TPDU, host, keys) against the bank's",
        "sign in again to fetch fresh working keys",
    ),
    "environment_interference": (
        "move the terminal away from magnets, motors and other strong fields",
        "add anti-static measures (grounding, anti-static mat)",
    ),
    "operator_error": (
        "coach the operator on correct use at the counter (method, PIN entry, no aborts)",
        "put the quick guide next to the terminal",
    ),
    "training_gap": (
        "train the operators without a training record",
        "let new staff practise in the terminal's training mode",
    ),
    "maintenance_overdue": (
        "schedule maintenance now: clean the card reader and print head, check cables",
        "replace worn parts; keep a maintenance calendar",
    ),
    NONE: (),
}

# Colours for plots (one per label, stable).
COLOURS: dict[str, str] = {
    "software_defect": "#d62728",
    "compatibility": "#ff7f0e",
    "outdated_software": "#8c564b",
    "hardware_memory": "#9467bd",
    "hardware_overheat": "#e377c2",
    "hardware_power": "#bcbd22",
    "hardware_printer": "#7f7f7f",
    "network": "#1f77b4",
    "parameter_mismatch": "#17becf",
    "environment_interference": "#2ca02c",
    "operator_error": "#aec7e8",
    "training_gap": "#ffbb78",
    "maintenance_overdue": "#98df8a",
    NONE: "#dddddd",
}

# Exit reasons that end an episode (every reason but `normal`) and those that count as a crash
# for the crash-free session rate (Sentry / Android vitals style: crash and ANR).
CRASH_REASONS: frozenset[str] = frozenset({ExitReason.CRASH, ExitReason.ANR})

# Response codes (F39) the document names as evidence.
RC_PARAMETER: frozenset[str] = frozenset({"03", "58", "A0", "97"})
RC_FORMAT = "30"
RC_WRONG_PIN = "55"

# Thresholds the document gives.
HOT_C = 75.0  # cpu_temp_c over ~75 °C
WEAK_SIGNAL_DBM = -100.0  # signal below ~ -100 dBm
MAINTENANCE_DAYS = 180  # last_maintenance over 180 days
VITALS_OVERALL = 0.0109  # Android vitals: bad at 1.09 % overall ...
VITALS_PER_MODEL = 0.08  # ... or 8 % on one device model
