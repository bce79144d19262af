"""Per-episode evidence rules: each rule reads documented signals, adds a weight to one cause
family and says why in words. An episode's family is the one its evidence weighs most for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from steadypos.diagnose.ambient import low_memory
from steadypos.diagnose.episodes import Episode
from steadypos.diagnose.records import FlowCard
from steadypos.diagnose.taxonomy import (
    HOT_C,
    RC_FORMAT,
    RC_PARAMETER,
    RC_WRONG_PIN,
    WEAK_SIGNAL_DBM,
    Cause,
)
from steadypos.eventlog import PRINTER_FAULTS, READ_ERRORS, CardError, TxnPhase


class Family(StrEnum):
    """A cause, or a group of causes that one episode's signals cannot tell apart (the
    terminal- and fleet-level evidence splits those: splits.py)."""

    MEMORY = "memory"
    OVERHEAT = "overheat"
    POWER = "power"
    NETWORK = "network"
    PARAMETER = "parameter"
    SOFTWARE = "software"
    WEAR = "wear"
    OPERATOR = "operator"


FAMILY_LABEL: dict[str, Cause] = {
    Family.MEMORY: Cause.HARDWARE_MEMORY,
    Family.OVERHEAT: Cause.HARDWARE_OVERHEAT,
    Family.POWER: Cause.HARDWARE_POWER,
    Family.NETWORK: Cause.NETWORK,
    Family.PARAMETER: Cause.PARAMETER_MISMATCH,
}
FAMILIES: tuple[Family, ...] = tuple(Family)

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
    return ep.around.mem_min is not None and ep.around.mem_min <= low_memory(ep.around.mem_total)


def _mem_short(ep: Episode) -> bool:
    """Free memory down to a tenth of the total (or 100 MB when the total is unknown)."""
    if ep.around.mem_min is None:
        return False
    return ep.around.mem_min <= (0.1 * ep.around.mem_total if ep.around.mem_total else 100.0)


def _oom(ep: Episode) -> bool:
    exc = (ep.exception or "").lower()
    return "outofmemory" in exc or "oom" in exc.split(".")[-1]


def _normal_readings(ep: Episode) -> bool:
    temp_ok = ep.around.temp_max is None or ep.around.temp_max < HOT_C - 3
    return temp_ok and not _mem_low(ep) and not ep.around.power_unstable and not _battery_low(ep)


def _unexplained_kill(ep: Episode) -> bool:
    """Killed from outside with nothing in the readings to blame: the system, not the device."""
    return ep.end_kind == "killed" and not _mem_short(ep) and _normal_readings(ep)


def _battery_low(ep: Episode) -> bool:
    return ep.around.battery_min is not None and ep.around.battery_min <= 5


def _read_errors(ep: Episode) -> list[FlowCard]:
    return [c for c in ep.card_errors if c.error in READ_ERRORS]


def _no_codes(ep: Episode) -> int:
    return sum(1 for c in ep.card_errors if c.error == CardError.NO_CODE)


def _param_rcs(ep: Episode) -> list[str]:
    return [rc for rc in ep.rcs if rc in RC_PARAMETER]


def _no_signal_of_trouble(ep: Episode) -> bool:
    return not (ep.phases or ep.card_errors or ep.rcs or ep.pins or ep.printer)


def _hot(ep: Episode) -> float:
    if ep.around.temp_max is None or ep.around.temp_max <= HOT_C:
        return 0.0
    if _hard_exit(ep):
        return 1.0 + min(0.5, (ep.around.temp_max - HOT_C) / 20)
    return 0.25


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.0f}"


# Weights: 3 = the document's own sign of that cause (decisive alone), 2 = a strong sign, 1 = a
# supporting one, under 1 = a hint. A strength (test) of 1 is the sign as the document states it.
RULES: tuple[Rule, ...] = (
    # memory
    Rule(Family.MEMORY, "", 3.0, lambda e: float(_oom(e)), lambda e: f"{e.exception} at exit"),
    Rule(
        Family.MEMORY, "", 2.5,
        lambda e: float(_mem_low(e) and e.is_exit) or 0.4 * _mem_low(e),
        lambda e: f"mem_free_mb {_fmt(e.around.mem_min)} before the {_exit_name(e)}",
    ),
    Rule(
        Family.MEMORY, "", 1.5,
        lambda e: float(e.is_exit and not _mem_low(e) and _mem_short(e)),
        lambda e: f"mem_free_mb {_fmt(e.around.mem_min)} of {_fmt(e.around.mem_total)} before the"
        f" {_exit_name(e)}",
    ),
    Rule(Family.MEMORY, "", 0.8, lambda e: float(e.end_kind == "killed" and _mem_short(e)),
         lambda e: "killed by the system (low-memory killer)"),
    # overheat
    Rule(Family.OVERHEAT, "", 2.0, lambda e: _hot(e),
         lambda e: f"cpu_temp_c {_fmt(e.around.temp_max)} before the {_exit_name(e)}"),
    # power
    Rule(Family.POWER, "", 2.0, lambda e: float(e.end_kind == "power_loss"),
         lambda e: "exit reason=power_loss"),
    Rule(Family.POWER, "", 1.5, lambda e: float(e.around.power_unstable),
         lambda e: "power=unstable"),
    Rule(Family.POWER, "", 1.5, lambda e: float(_battery_low(e)),
         lambda e: f"battery {_fmt(e.around.battery_min)}%"),
    Rule(Family.POWER, "", 0.7, lambda e: float(e.end_kind == "restart"),
         lambda e: "app restarted with no exit logged"),
    # printer / reader / environment (wear family)
    Rule(
        Family.WEAR, "printer", 2.0,
        lambda e: float(_printer(e) in PRINTER_FAULTS)
        * (1.0 if e.screen == "receipt" else 0.3),
        lambda e: f"printer {_printer(e)}",
    ),
    Rule(Family.WEAR, "printer", 1.0, lambda e: float(e.screen == "receipt"),
         lambda e: "broke at the receipt screen"),
    Rule(
        Family.WEAR, "reader", 1.5,
        lambda e: min(1.7, 0.8 + 0.3 * len(_read_errors(e))) if _read_errors(e) else 0.0,
        lambda e: f"{len(_read_errors(e))} card read error(s): "
        + ", ".join(sorted({f"{m} {x}" for m, x in _read_errors(e)})),
    ),
    Rule(
        Family.WEAR, "environment", 3.0,
        lambda e: float(e.end_kind == "watchdog" and _normal_readings(e)),
        lambda e: f"watchdog reset with normal readings (cpu_temp_c {_fmt(e.around.temp_max)})",
    ),
    Rule(Family.WEAR, "environment", 1.0, lambda e: float(e.around.swipe_burst >= 2),
         lambda e: f"{e.around.swipe_burst} swipe read errors in other flows of the 10 minutes"
         " before"),
    # network
    Rule(
        Family.NETWORK, "", 2.0,
        lambda e: float(any(p in ("timeout", "conn_fail") for p in e.phases)),
        lambda e: "txn " + "/".join(sorted({p for p in e.phases if p != "mac_fail"})),
    ),
    # kind "link": the link's own trouble beside the lost answer (a lone timeout has no kind)
    Rule(Family.NETWORK, "link", 1.0, lambda e: float(e.around.net_trouble > 0),
         lambda e: f"{e.around.net_trouble} net down/reset/connect_fail"),
    Rule(
        Family.NETWORK, "link", 0.7,
        lambda e: float(e.around.signal_min is not None and e.around.signal_min < WEAK_SIGNAL_DBM
                        and (e.screen == "online" or e.around.net_trouble > 0)),
        lambda e: f"signal_dbm {_fmt(e.around.signal_min)}",
    ),
    Rule(Family.NETWORK, "", 0.3,
         lambda e: float(e.screen == "online" and not e.rcs and not e.phases and not e.is_exit),
         lambda e: "left from online with no response"),
    # parameters
    Rule(Family.PARAMETER, "", 2.5, lambda e: float(bool(_param_rcs(e))),
         lambda e: "response code 39=" + "/".join(sorted(set(_param_rcs(e))))),
    Rule(Family.PARAMETER, "", 2.0, lambda e: float(TxnPhase.MAC_FAIL in e.phases),
         lambda e: "MAC failure"),
    Rule(Family.PARAMETER, "", 1.5, lambda e: float(e.around.params_recent),
         lambda e: "params mismatch in the hours before"),
    # software (crashes; format errors of old versions)
    Rule(
        Family.SOFTWARE, "crash", 2.0,
        lambda e: float(e.end_kind in ("crash", "anr") and bool(e.exception) and not _oom(e)),
        lambda e: f"{_exit_name(e)}: {e.exception}" + (f" at {e.frames[0]}" if e.frames else ""),
    ),
    Rule(Family.SOFTWARE, "crash", 1.0,
         lambda e: float(e.end_kind in ("crash", "anr") and not e.exception),
         lambda e: f"{_exit_name(e)} without exception"),
    # an app killed mid-flow with normal (or no) readings: the seed's "unstable system"
    Rule(Family.SOFTWARE, "kill", 1.0, lambda e: float(_unexplained_kill(e)),
         lambda e: "killed mid-flow with no crash report and no low memory, heat or power"
         " reading"),
    Rule(Family.SOFTWARE, "format", 2.5, lambda e: float(RC_FORMAT in e.rcs),
         lambda e: "response code 39=30 (format error)"),
    # operator
    Rule(Family.OPERATOR, "", 1.5, lambda e: float(RC_WRONG_PIN in e.rcs),
         lambda e: "wrong PIN (39=55) then abandoned"),
    Rule(Family.OPERATOR, "", 1.5, lambda e: float("timeout" in e.pins),
         lambda e: "PIN entry timed out"),
    Rule(Family.OPERATOR, "", 1.5,
         lambda e: float(any(c.error == CardError.WRONG_METHOD for c in e.card_errors)),
         lambda e: "wrong payment method tried first"),
    Rule(Family.OPERATOR, "", 1.2,
         lambda e: float(e.screen == "amount" and e.end_kind == "idle"),
         lambda e: "abandoned at the amount screen"),
    Rule(Family.OPERATOR, "", 0.8,
         lambda e: float(e.screen in ("card", "pin") and e.end_kind == "idle"
                         and _no_signal_of_trouble(e)),
         lambda e: f"abandoned at the {e.screen} screen with no error"),
    Rule(Family.OPERATOR, "", 1.2,
         lambda e: float(e.end_kind == "idle" and _no_codes(e) > 0),
         lambda e: f"{_no_codes(e)} QR scan(s) found no code (no_code), then abandoned"),
)  # fmt: skip


@dataclass(frozen=True)
class EpisodeEvidence:
    """What the rules found in one episode: the family it weighs most for, the kind inside it,
    that family's total weight, the words of the rules that fired, and every family's total."""

    family: str
    kind: str
    score: float
    said: tuple[str, ...]
    totals: dict[str, float]


NO_EVIDENCE = EpisodeEvidence("", "", 0.0, (), {})


def _printer(ep: Episode) -> str | None:
    """The printer fault of a flow that broke at the receipt: read during the flow, or in the
    readings just before it (a terminal may report the head fault when the app starts)."""
    if ep.printer or ep.screen != "receipt":
        return ep.printer
    return ep.around.printer


def score_episode(ep: Episode) -> EpisodeEvidence:
    """Apply every rule to one episode (the episode is not changed)."""
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
    if not totals:
        return NO_EVIDENCE
    family = max(totals, key=lambda f: (totals[f], -FAMILIES.index(f)))
    kind = ""
    if family in kinds:
        kind = max(kinds[family], key=kinds[family].__getitem__)
    return EpisodeEvidence(family, kind, totals[family], tuple(said.get(family, ())), totals)


@dataclass(frozen=True)
class Scored:
    """An episode with its evidence and how much it counts for its terminal (1 = fully; less
    when the fleet explains it: a host-side outage, a sporadic crash group)."""

    episode: Episode
    evidence: EpisodeEvidence
    weight: float
    note: str = ""  # why it counts less, in words

    @property
    def family(self) -> str:
        return self.evidence.family

    @property
    def kind(self) -> str:
        return self.evidence.kind
