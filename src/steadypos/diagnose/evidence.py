"""Per-episode evidence rules: each rule reads documented signals, adds a weight to one cause
family and says why in words. An episode's family is the one its evidence weighs most for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from steadypos.diagnose.episodes import Episode, _low_mem
from steadypos.diagnose.taxonomy import (
    HOT_C,
    RC_FORMAT,
    RC_PARAMETER,
    RC_WRONG_PIN,
    WEAK_SIGNAL_DBM,
)

# Families: a cause or a group of causes that one episode's signals cannot tell apart; the
# terminal- and fleet-level evidence splits them (scoring.py).
FAMILY_LABEL = {
    "memory": "hardware_memory",
    "overheat": "hardware_overheat",
    "power": "hardware_power",
    "network": "network",
    "parameter": "parameter_mismatch",
}
SPLIT_FAMILIES = ("software", "wear", "operator")
FAMILIES = (*FAMILY_LABEL, *SPLIT_FAMILIES)

_EXITS = {
    "crash": "crash",
    "anr": "ANR",
    "killed": "kill",
    "watchdog": "watchdog reset",
    "power_loss": "power loss",
    "restart": "restart with no exit logged",
}


@dataclass(frozen=True)
class Rule:
    """One piece of evidence: which family it supports, its weight, and its test/wording."""

    family: str
    kind: str  # sub-kind inside a family (e.g. wear: printer/reader/environment)
    weight: float
    test: Callable[[Episode], float]  # 0 when absent; 1 (or a strength) when present
    say: Callable[[Episode], str]


def _exit_name(ep: Episode) -> str:
    return _EXITS.get(ep.end_kind, ep.end_kind)


def _hard_exit(ep: Episode) -> bool:
    return ep.end_kind not in ("idle", "power_loss")


def _mem_low(ep: Episode) -> bool:
    return ep.mem_min is not None and ep.mem_min <= _low_mem(ep.mem_total)


def _mem_short(ep: Episode) -> bool:
    """Free memory down to a tenth of the total (or 100 MB when the total is unknown)."""
    if ep.mem_min is None:
        return False
    return ep.mem_min <= (0.1 * ep.mem_total if ep.mem_total else 100.0)


def _oom(ep: Episode) -> bool:
    exc = (ep.exception or "").lower()
    return "outofmemory" in exc or "oom" in exc.split(".")[-1]


def _normal_readings(ep: Episode) -> bool:
    temp_ok = ep.temp_max is None or ep.temp_max < HOT_C - 3
    return temp_ok and not _mem_low(ep) and not ep.power_unstable and not _battery_low(ep)


def _unexplained_kill(ep: Episode) -> bool:
    """Killed from outside with nothing in the readings to blame: the system, not the device."""
    return ep.end_kind == "killed" and not _mem_short(ep) and _normal_readings(ep)


def _battery_low(ep: Episode) -> bool:
    return ep.battery_min is not None and ep.battery_min <= 5


def _read_errors(ep: Episode) -> list[tuple[str, str]]:
    return [c for c in ep.card_errors if c[1] in ("bad_read", "lrc", "chip_mute", "no_code")]


def _param_rcs(ep: Episode) -> list[str]:
    return [rc for rc in ep.rcs if rc in RC_PARAMETER]


def _no_signal_of_trouble(ep: Episode) -> bool:
    return not (ep.phases or ep.card_errors or ep.rcs or ep.pins or ep.printer)


def _hot(ep: Episode) -> float:
    if ep.temp_max is None or ep.temp_max <= HOT_C:
        return 0.0
    if _hard_exit(ep):
        return 1.0 + min(0.5, (ep.temp_max - HOT_C) / 20)
    return 0.25


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.0f}"


RULES: tuple[Rule, ...] = (
    # memory
    Rule("memory", "", 3.0, lambda e: float(_oom(e)), lambda e: f"{e.exception} at exit"),
    Rule(
        "memory", "", 2.5,
        lambda e: float(_mem_low(e) and e.is_exit) or 0.4 * _mem_low(e),
        lambda e: f"mem_free_mb {_fmt(e.mem_min)} before the {_exit_name(e)}",
    ),
    Rule(
        "memory", "", 1.5,
        lambda e: float(e.is_exit and not _mem_low(e) and _mem_short(e)),
        lambda e: f"mem_free_mb {_fmt(e.mem_min)} of {_fmt(e.mem_total)} before the"
        f" {_exit_name(e)}",
    ),
    Rule("memory", "", 0.8, lambda e: float(e.end_kind == "killed" and _mem_short(e)),
         lambda e: "killed by the system (low-memory killer)"),
    # overheat
    Rule("overheat", "", 2.0, lambda e: _hot(e),
         lambda e: f"cpu_temp_c {_fmt(e.temp_max)} before the {_exit_name(e)}"),
    # power
    Rule("power", "", 2.0, lambda e: float(e.end_kind == "power_loss"),
         lambda e: "exit reason=power_loss"),
    Rule("power", "", 1.5, lambda e: float(e.power_unstable), lambda e: "power=unstable"),
    Rule("power", "", 1.5, lambda e: float(_battery_low(e)),
         lambda e: f"battery {_fmt(e.battery_min)}%"),
    Rule("power", "", 0.7, lambda e: float(e.end_kind == "restart"),
         lambda e: "app restarted with no exit logged"),
    # printer / reader / environment (wear family)
    Rule(
        "wear", "printer", 2.0,
        lambda e: float(e.printer in ("jam", "head_fault"))
        * (1.0 if e.screen == "receipt" else 0.3),
        lambda e: f"printer {e.printer}",
    ),
    Rule("wear", "printer", 1.0, lambda e: float(e.screen == "receipt"),
         lambda e: "broke at the receipt screen"),
    Rule(
        "wear", "reader", 1.5,
        lambda e: min(1.7, 0.8 + 0.3 * len(_read_errors(e))) if _read_errors(e) else 0.0,
        lambda e: f"{len(_read_errors(e))} card read error(s): "
        + ", ".join(sorted({f"{m} {x}" for m, x in _read_errors(e)})),
    ),
    Rule(
        "wear", "environment", 3.0,
        lambda e: float(e.end_kind == "watchdog" and _normal_readings(e)),
        lambda e: f"watchdog reset with normal readings (cpu_temp_c {_fmt(e.temp_max)})",
    ),
    Rule("wear", "environment", 1.0, lambda e: float(e.swipe_burst >= 2),
         lambda e: f"{e.swipe_burst} swipe read errors in other flows of the 10 minutes before"),
    # network
    Rule(
        "network", "", 2.0,
        lambda e: float(any(p in ("timeout", "conn_fail") for p in e.phases)),
        lambda e: "txn " + "/".join(sorted({p for p in e.phases if p != "mac_fail"})),
    ),
    Rule("network", "", 1.0, lambda e: float(e.net_trouble > 0),
         lambda e: f"{e.net_trouble} net down/reset/connect_fail"),
    Rule(
        "network", "", 0.7,
        lambda e: float(e.signal_min is not None and e.signal_min < WEAK_SIGNAL_DBM
                        and (e.screen == "online" or e.net_trouble > 0)),
        lambda e: f"signal_dbm {_fmt(e.signal_min)}",
    ),
    Rule("network", "", 0.3,
         lambda e: float(e.screen == "online" and not e.rcs and not e.phases and not e.is_exit),
         lambda e: "left from online with no response"),
    # parameters
    Rule("parameter", "", 2.5, lambda e: float(bool(_param_rcs(e))),
         lambda e: "response code 39=" + "/".join(sorted(set(_param_rcs(e))))),
    Rule("parameter", "", 2.0, lambda e: float("mac_fail" in e.phases), lambda e: "MAC failure"),
    Rule("parameter", "", 1.5, lambda e: float(e.params_recent),
         lambda e: "params mismatch in the hours before"),
    # software (crashes; format errors of old versions)
    Rule(
        "software", "crash", 2.0,
        lambda e: float(e.end_kind in ("crash", "anr") and bool(e.exception) and not _oom(e)),
        lambda e: f"{_exit_name(e)}: {e.exception}" + (f" at {e.frames[0]}" if e.frames else ""),
    ),
    Rule("software", "crash", 1.0,
         lambda e: float(e.end_kind in ("crash", "anr") and not e.exception),
         lambda e: f"{_exit_name(e)} without exception"),
    # an app killed mid-flow with normal (or no) readings: the seed's "unstable system"
    Rule("software", "kill", 1.0, lambda e: float(_unexplained_kill(e)),
         lambda e: "killed mid-flow with no crash report and no low memory, heat or power"
         " reading"),
    Rule("software", "format", 2.5, lambda e: float(RC_FORMAT in e.rcs),
         lambda e: "response code 39=30 (format error)"),
    # operator
    Rule("operator", "", 1.5, lambda e: float(RC_WRONG_PIN in e.rcs),
         lambda e: "wrong PIN (39=55) then abandoned"),
    Rule("operator", "", 1.5, lambda e: float("timeout" in e.pins),
         lambda e: "PIN entry timed out"),
    Rule("operator", "", 1.5, lambda e: float(any(c[1] == "wrong_method" for c in e.card_errors)),
         lambda e: "wrong payment method tried first"),
    Rule("operator", "", 1.2,
         lambda e: float(e.screen == "amount" and e.end_kind == "idle"),
         lambda e: "abandoned at the amount screen"),
    Rule("operator", "", 0.8,
         lambda e: float(e.screen in ("card", "pin") and e.end_kind == "idle"
                         and _no_signal_of_trouble(e)),
         lambda e: f"abandoned at the {e.screen} screen with no error"),
)  # fmt: skip


def score_episode(ep: Episode) -> tuple[str, str, float, list[str]]:
    """(family, kind, score, evidence) of the family with the most evidence; ('', '', 0, [])."""
    totals: dict[str, float] = {}
    kinds: dict[str, dict[str, float]] = {}
    said: dict[str, list[str]] = {}
    for rule in RULES:
        strength = rule.test(ep)
        if not strength:
            continue
        w = rule.weight * float(strength)
        totals[rule.family] = totals.get(rule.family, 0.0) + w
        if rule.kind:
            k = kinds.setdefault(rule.family, {})
            k[rule.kind] = k.get(rule.kind, 0.0) + w
        if strength >= 0.5:
            said.setdefault(rule.family, []).append(rule.say(ep))
    ep.scores = totals
    if not totals:
        return "", "", 0.0, []
    family = max(totals, key=lambda f: (totals[f], -FAMILIES.index(f)))
    kind = ""
    if family in kinds:
        kind = max(kinds[family], key=kinds[family].__getitem__)
    return family, kind, totals[family], said.get(family, [])
