"""A terminal's own facts in words: the ones that add weight to a family (bonuses), and the ones
that back the cause it was given (evidence)."""

from __future__ import annotations

from collections import Counter

from steadypos.diagnose.evidence import Family, Scored
from steadypos.diagnose.fleet import FleetContext, behind
from steadypos.diagnose.noise import threshold
from steadypos.diagnose.taxonomy import HOT_C, MAINTENANCE_DAYS, RC_PARAMETER, Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.diagnose.wear import failing, maintenance_age, read_errors, wear_trend
from steadypos.eventlog import CardError, ExitReason, PinOutcome, format_ts

# A terminal-level fact adds one episode's worth to its family when it holds:
# PIN cancels/timeouts or wrong methods outside the episodes (the episodes count already), at
# least MIN_MISUSE and more than the fleet's usual rate explains (Poisson, MISUSE_ALPHA)
MIN_MISUSE, MISUSE_ALPHA = 3, 0.01
WEAK_SHARE = 0.5  # of the signal readings under the document's -100 dBm
MIN_SHARED = 2  # network episodes while another terminal of the merchant also lost it
MIN_HOT, MIN_LOW_MEM, MIN_UNSTABLE = 3, 3, 2  # health readings over 75 °C / near-zero / unstable
BEHIND_FOR_FACT = 1.5  # two minor versions or a major behind the fleet's current one


def pin_misuse(term: TerminalRecord) -> int:
    """PIN entries cancelled or timed out in flows that were not flash-exits."""
    total = term.n.pin_outcomes.get(PinOutcome.CANCELLED, 0) + term.n.pin_outcomes.get(
        PinOutcome.TIMEOUT, 0)  # fmt: skip
    inside = sum(1 for e in term.episodes for p in e.pins
                 if p in (PinOutcome.CANCELLED, PinOutcome.TIMEOUT))  # fmt: skip
    return max(0, total - inside)


def wrong_methods(term: TerminalRecord) -> int:
    """Cards read with the wrong method first in flows that were not flash-exits."""
    inside = sum(1 for e in term.episodes for c in e.card_errors
                 if c.error == CardError.WRONG_METHOD)  # fmt: skip
    return max(0, term.n.card_errors.get(CardError.WRONG_METHOD, 0) - inside)


def _beyond(count: int, flows: int, usual: float | None) -> bool:
    return usual is not None and count >= max(MIN_MISUSE, threshold(usual * flows, MISUSE_ALPHA))


def _people_facts(term: TerminalRecord, misuse_rate: float | None,
                  wrong_rate: float | None) -> list[str]:  # fmt: skip
    out = []
    flows = term.n.flows
    misuse = pin_misuse(term)
    if _beyond(misuse, flows, misuse_rate):
        out.append(f"{misuse} more PIN entries cancelled or timed out in the other flows of"
                   f" {flows}")  # fmt: skip
    wrong = wrong_methods(term)
    if _beyond(wrong, flows, wrong_rate):
        out.append(f"{wrong} more card reads with the wrong method first in the other flows")
    return out


def _network_facts(term: TerminalRecord, scored: list[Scored], ctx: FleetContext) -> list[str]:
    out = []
    n = term.n
    if n.signal >= 3 and n.weak / n.signal >= WEAK_SHARE:
        out.append(f"signal_dbm averages {n.signal_mean:.0f} (weak below -100)")
    shared = sum(1 for s in scored if s.family == Family.NETWORK
                 and ctx.merchant_shared(term.inv.mid, term.tid, s.episode.t1)
                 and not ctx.fleet_wide(s.episode.t1))  # fmt: skip
    if shared >= MIN_SHARED:
        out.append(f"merchant {term.inv.mid}: other terminals lost the network at the same time"
                   f" ({shared} episodes)")  # fmt: skip
    return out


def bonuses(term: TerminalRecord, scored: list[Scored], ctx: FleetContext,
            misuse_rate: float | None, wrong_rate: float | None,
            read_rate: float | None, disturbed: bool = False) -> dict[str, list[str]]:  # fmt: skip
    """Terminal-level facts that add weight to a family (each one said in words); `disturbed`:
    the terminal's swipes fail as interference's do (wear.swipes_disturbed)."""
    n = term.n
    out: dict[str, list[str]] = {
        Family.OPERATOR: _people_facts(term, misuse_rate, wrong_rate),
        Family.NETWORK: _network_facts(term, scored, ctx),
        Family.PARAMETER: [], Family.SOFTWARE: [], Family.MEMORY: [], Family.OVERHEAT: [],
        Family.POWER: [], Family.WEAR: [],
    }  # fmt: skip
    if n.mismatches:
        fields = ", ".join(f for f, _ in Counter(n.mismatch_fields).most_common(3))
        out[Family.PARAMETER].append(f"{n.mismatches} params mismatch events (field {fields})")
    params = term.inv.params_version
    if params and ctx.current_params and params != ctx.current_params:
        out[Family.PARAMETER].append(
            f"params_version {params} differs from the fleet's current {ctx.current_params}")
    if behind(term.app_version, ctx.current_version) >= BEHIND_FOR_FACT:
        out[Family.SOFTWARE].append(f"app_version {term.app_version} is behind the fleet's"
                                    f" current {ctx.current_version}")  # fmt: skip
    out[Family.WEAR] = _wear_facts(term, scored, read_rate, disturbed)
    if n.low_mem >= MIN_LOW_MEM:
        out[Family.MEMORY].append(f"free memory near zero in {n.low_mem} health readings")
    if n.hot >= MIN_HOT:
        out[Family.OVERHEAT].append(f"cpu_temp_c over {HOT_C:.0f} in {n.hot} of {n.health}"
                                    f" health readings (max {n.temp_max:.0f})")  # fmt: skip
    if n.unstable >= MIN_UNSTABLE or n.low_battery >= MIN_UNSTABLE:
        out[Family.POWER].append(f"power=unstable in {n.unstable} and battery <=5% in"
                                 f" {n.low_battery} health readings")  # fmt: skip
    return {k: v for k, v in out.items() if v}


def _wear_facts(term: TerminalRecord, scored: list[Scored], read_rate: float | None,
                disturbed: bool = False) -> list[str]:  # fmt: skip
    """The document's maintenance_overdue signs on the terminal: over 180 days since the last
    maintenance at the time of its wear episodes, reader/printer errors that worsen, and a reader
    that fails on more of all its reads than the fleet's usual rate explains."""
    out = []
    errors, reads = read_errors(term), term.n.card_reads
    if any(s.family == Family.WEAR for s in scored) and failing(errors, reads, read_rate):
        out.append(f"card read errors on {errors} of {reads} reads (the fleet's usual:"
                   f" {100 * (read_rate or 0):.1f}%)")  # fmt: skip
    ages = [(a, s.episode.maint_date) for s in scored if s.family == Family.WEAR
            and (a := maintenance_age(s.episode)) is not None]  # fmt: skip
    trend = wear_trend(term, disturbed)  # a field's swipe errors are no worn reader's
    if trend and ages:
        out.append(trend)
    # the date is the document's sign only "and" with errors that worsen or fail: alone it is
    # no evidence of a fault (healthy terminals are overdue too)
    if out and ages and max(ages)[0] > MAINTENANCE_DAYS:
        age, day = max(ages)
        out.append(f"last_maintenance {day}: {age} days before its reader/printer errors")
    return out


def evidence_for(label: Cause, term: TerminalRecord, scored: list[Scored],
                 ctx: FleetContext) -> list[str]:  # fmt: skip
    """The facts from the log that support `label` on this terminal, in words."""
    eps = [s.episode for s in scored]
    exits = [e for e in eps if e.is_exit]
    n = term.n
    if label == Cause.HARDWARE_OVERHEAT:
        hot = [e.around.temp_max for e in exits
               if e.around.temp_max is not None and e.around.temp_max > HOT_C]  # fmt: skip
        return [f"cpu_temp_c {min(hot):.0f}-{max(hot):.0f} before {len(hot)} of {len(exits)}"
                " exits"] if hot else []  # fmt: skip
    if label == Cause.HARDWARE_MEMORY:
        low = [s.episode.around.mem_min for s in scored if s.episode.is_exit
               and s.family == Family.MEMORY and s.episode.around.mem_min is not None]
        out = [f"mem_free_mb {min(low):.0f}-{max(low):.0f} before {len(low)} of {len(exits)}"
               " exits"] if low else []  # fmt: skip
        ooms = sum(1 for e in eps if e.exception and "memory" in e.exception.lower())
        return out + ([f"{ooms} out-of-memory exceptions"] if ooms else [])
    if label == Cause.HARDWARE_POWER:
        lost = sum(1 for e in eps if e.end_kind in (ExitReason.POWER_LOSS, "restart"))
        return [f"{lost} of {len(eps)} episodes ended by power loss or a restart with no exit"]
    if label == Cause.NETWORK:
        net = [s for s in scored if s.family == Family.NETWORK]
        online = sum(1 for s in net if s.episode.screen == "online")
        out = [f"{online} of {len(eps)} episodes left from online after timeout/conn_fail"]
        if n.net_trouble:
            out.append(f"{n.net_trouble} net down/reset/connect_fail events")
        host = sum(1 for s in net if s.weight < 1)
        return out + ([f"{host} episodes during fleet-wide network trouble counted less"]
                      if host else [])  # fmt: skip
    if label == Cause.PARAMETER_MISMATCH:
        return _parameter_words(term, ctx)
    if label == Cause.OUTDATED_SOFTWARE:
        return [f"app_version {term.app_version} vs fleet's current {ctx.current_version}"]
    if label in (Cause.SOFTWARE_DEFECT, Cause.COMPATIBILITY):
        crashes = sum(1 for e in eps if e.end_kind in (ExitReason.CRASH, ExitReason.ANR))
        kills = sum(1 for s in scored if s.kind == "kill")
        out = [f"{crashes} of {len(eps)} episodes were crashes/ANRs"] if crashes or not kills \
            else []  # fmt: skip
        return out + ([f"{kills} of {len(eps)} episodes were the app killed mid-flow"]
                      if kills else [])  # fmt: skip
    return []


def _parameter_words(term: TerminalRecord, ctx: FleetContext) -> list[str]:
    out = []
    bad = {rc: k for rc, k in term.n.rc.items() if rc in RC_PARAMETER}
    if bad:
        out.append("39=" + "/".join(sorted(bad)) + f" on {sum(bad.values())} responses")
    if term.n.mac_fails:
        out.append(f"{term.n.mac_fails} MAC failures")
    for t, version in term.params_applied:
        if version != ctx.current_params:
            out.append(f"params {version} applied on {format_ts(t)[:10]}")
            break
    return out
