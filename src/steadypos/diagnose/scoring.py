"""Terminal causes from evidence: episode families above the fleet's noise floor, split by
terminal- and fleet-level evidence (versions, crash groups, maintenance age, training records).

Every weight lives here or in evidence.py; each one comes with the words that explain it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from steadypos.diagnose.episodes import Episode, Terminal
from steadypos.diagnose.evidence import FAMILIES, FAMILY_LABEL, score_episode
from steadypos.diagnose.fleet import (
    CrashGroup,
    FleetContext,
    behind,
    flagged_model,
    flagged_version,
)
from steadypos.diagnose.reader import format_ts
from steadypos.diagnose.taxonomy import ACTIONS, HOT_C, MAINTENANCE_DAYS, NONE, RC_PARAMETER

HOST_SIDE_WEIGHT = 0.3  # a network episode during fleet-wide trouble is mostly not this site's
SPORADIC_WEIGHT = 0.5  # a crash of a group that hits terminals about once each: background noise
MIN_FLOWS_FOR_BASELINE = 10
BASELINE_SHARE = 0.8  # the share of the fleet taken as "ordinary" for the noise rate
# Fewer busy terminals than this have no "ordinary" part to measure noise on (one terminal's log
# diagnosed alone would be its own yardstick): noise is then taken as NOISE_PRIOR per flow, over
# three times the highest rate of any family on the simulated fleets' healthy terminals (0.003).
MIN_TERMINALS_FOR_BASELINE = 20
NOISE_PRIOR = 0.01
ALPHA = 0.002  # how unlikely under noise a count must be to count as a cause


@dataclass
class TerminalResult:
    tid: str
    episodes: int
    cause: str
    confidence: float
    evidence: list[str]
    actions: list[str]
    family_counts: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------- crash groups
def classify_groups(ctx: FleetContext) -> None:
    """Give each crash group the software cause its spread says (and why)."""
    for g in ctx.groups.values():
        main_version = g.versions.most_common(1)[0][0]
        lag = behind(main_version, ctx.current_version)
        all_old = all(behind(v, ctx.current_version) >= 1 for v in g.versions)
        # terminals without an inventory line have no model: they count for no model
        known_models = [m for m in g.models if not m.startswith("?")]
        known_combos = Counter({c: k for c, k in g.combos.items() if not c.startswith("?")})
        n_models = len(known_models)
        top_combo, top_n = (known_combos.most_common(1) or [("?", 0)])[0]
        combo_share = top_n / max(1, sum(known_combos.values()))
        combo_terminals = len(g.terminals) * combo_share
        scores = {"outdated_software": 0.0, "software_defect": 0.0, "compatibility": 0.0}
        why: dict[str, list[str]] = {k: [] for k in scores}
        if lag >= 1:
            scores["outdated_software"] += 2 * lag
            why["outdated_software"].append(
                f"on app_version {main_version}, behind the fleet's current {ctx.current_version}"
            )
        if all_old and lag >= 1:
            scores["outdated_software"] += 1
            why["outdated_software"].append("never seen on the current version (fixed since)")
        if n_models >= 2:
            scores["software_defect"] += 1.5 + (1.0 if n_models >= 3 else 0.0)
            why["software_defect"].append(
                f"same crash on {n_models} brand/models, {len(g.terminals)} terminals"
            )
        if lag == 0 and flagged_version(ctx, main_version):
            scores["software_defect"] += 1
            rate = ctx.by_version[main_version]
            why["software_defect"].append(
                f"app_version {main_version} crash-free sessions {100 * rate.crash_free:.1f}%"
                f" vs fleet {100 * ctx.overall.crash_free:.1f}%"
            )
        if not g.vendor:
            scores["software_defect"] += 0.5
        else:
            scores["compatibility"] += 1
            why["compatibility"].append(f"innermost frame in vendor/SDK code: {g.vendor_frame}")
        if combo_share >= 0.9 and combo_terminals >= 2:
            scores["compatibility"] += 1.5
            why["compatibility"].append(
                f"concentrated on {top_combo}: {len(g.terminals)} terminals"
            )
            elsewhere = _rate_elsewhere(ctx, top_combo, main_version)
            if elsewhere is not None and elsewhere <= max(0.0109, 2 * ctx.overall.crash_rate):
                scores["compatibility"] += 1
                why["compatibility"].append(
                    f"app_version {main_version} is {100 * (1 - elsewhere):.1f}% crash-free on"
                    " other models"
                )
        per_terminal = sorted(g.terminals.values())
        g.sporadic = per_terminal[len(per_terminal) // 2] <= 1 and not (
            lag == 0 and flagged_version(ctx, main_version)
        )
        best = max(scores, key=lambda k: (scores[k], k == "software_defect"))
        g.cause = best
        g.why = why[best]


def _rate_elsewhere(ctx: FleetContext, combo: str, version: str) -> float | None:
    sessions = crashes = 0
    for (c, v), rate in ctx.by_combo_version.items():
        if v == version and c != combo:
            sessions += rate.sessions
            crashes += rate.crashes
    return crashes / sessions if sessions >= 10 else None


# ---------------------------------------------------------------------------- the decision
def diagnose_terminals(terms: list[Terminal], ctx: FleetContext) -> list[TerminalResult]:
    classify_groups(ctx)
    counts: dict[str, dict[str, float]] = {}
    sums: dict[str, dict[str, float]] = {}
    for term in terms:
        c: dict[str, float] = {}
        s: dict[str, float] = {}
        for ep in term.episodes:
            family, kind, score, said = score_episode(ep)
            ep.family, ep.kind, ep.evidence = family, kind, said
            ep.weight = 1.0
            if family == "network" and ctx.fleet_wide(ep.t1):
                ep.weight = HOST_SIDE_WEIGHT
                ep.evidence.append("network trouble across many merchants at that time")
            elif family == "software" and kind == "crash":
                group = ctx.group_of(ep.exception, ep.frames)
                if group is not None and group.sporadic:
                    ep.weight = SPORADIC_WEIGHT
                    ep.evidence.append("a sporadic crash group (about one crash per terminal)")
            c[family] = c.get(family, 0.0) + ep.weight
            s[family] = s.get(family, 0.0) + score * ep.weight
            if kind:
                sub = f"{family}:{kind}"
                c[sub] = c.get(sub, 0.0) + ep.weight
        counts[term.tid] = c
        sums[term.tid] = s
    baseline = _baselines(terms, counts)
    baseline["pin_misuse"] = _typical_rate(terms, _pin_misuse)
    baseline["wrong_method"] = _typical_rate(terms, lambda t: t.card_errors.get("wrong_method", 0))
    results = []
    for term in terms:
        results.append(_decide(term, ctx, counts[term.tid], sums[term.tid], baseline))
    return results


def _baselines(terms: list[Terminal], counts: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per family (and kind), the episodes per flow that an ordinary terminal sees (the
    terminals with a real fault of that kind are above it)."""
    keys = set(FAMILIES) | {k for c in counts.values() for k in c if ":" in k}
    return {key: _typical_rate(terms, lambda t, k=key: counts[t.tid].get(k, 0.0)) for key in keys}


def _threshold(expected: float) -> int:
    """Fewest episodes that noise at rate `expected` would reach with probability < ALPHA."""
    n = 2
    term = math.exp(-expected)
    cdf = term  # P(X <= 0)
    for k in range(1, n):
        term *= expected / k
        cdf += term
    while 1.0 - cdf >= ALPHA and n < 10_000:
        term *= expected / n
        cdf += term
        n += 1
    return n


def _decide(
    term: Terminal, ctx: FleetContext, counts: dict[str, float], sums: dict[str, float],
    baseline: dict[str, float],
) -> TerminalResult:  # fmt: skip
    n = len(term.episodes)
    if n == 0:
        return TerminalResult(term.tid, 0, NONE, 1.0, ["no flash-exit in the log"], [], {})
    bonus = _bonuses(term, ctx, baseline)
    strength: dict[str, float] = {}
    ratio: dict[str, float] = {}
    flows = max(term.flows, 1)
    for fam, cnt in counts.items():
        if not fam or ":" in fam:
            continue
        expected = baseline.get(fam, 0.0) * flows
        extra = len(bonus.get(fam, ()))
        need = _threshold(expected)
        ratio[fam] = (cnt + extra) / need
        # a rare kind inside a family (a watchdog reset among card errors) can stand out alone
        sub_pass = any(
            k.startswith(fam + ":") and v >= _threshold(baseline.get(k, 0.0) * flows)
            for k, v in counts.items()
        )
        if cnt > 0 and (cnt + extra >= need or sub_pass):
            mean = sums[fam] / cnt if cnt else 0.0
            strength[fam] = max(0.5, sums[fam] - expected * mean + extra)
    if not strength:
        top = max(ratio.values(), default=0.0)
        conf = round(max(0.3, min(0.95, 1.0 - 0.6 * top)), 2)
        fam = max(ratio, key=ratio.__getitem__) if ratio else ""
        counts = {k: v for k, v in counts.items() if ":" not in k}
        say = [f"{n} flash-exit(s), no more than the fleet's usual noise"]
        if fam:
            say.append(f"most look like {FAMILY_LABEL.get(fam, fam)}: {counts[fam]:.0f}")
        return TerminalResult(term.tid, n, NONE, conf, say, [], dict(counts))
    ranked = sorted(strength, key=lambda f: (-strength[f], FAMILIES.index(f)))
    fam = ranked[0]
    second = strength[ranked[1]] if len(ranked) > 1 else 0.0
    label, split_conf, split_why = resolve(fam, term, ctx)
    fam_conf = strength[fam] / (strength[fam] + second + 2.0)
    conf = round(min(0.99, fam_conf * (0.6 + 0.4 * split_conf)), 2)
    evidence = terminal_evidence(label, term, ctx) + split_why + bonus.get(fam, [])
    for ep in term.episodes:
        if ep.family in FAMILY_LABEL:
            ep.cause = FAMILY_LABEL[ep.family]
        elif ep.family:
            ep.cause = label if ep.family == fam else resolve(ep.family, term, ctx)[0]
        else:
            ep.cause = label
    fams = {k: v for k, v in counts.items() if ":" not in k}
    return TerminalResult(term.tid, n, label, conf, _dedupe(evidence), list(ACTIONS[label]), fams)


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]


def label_noise_episodes(terms: list[Terminal], results: list[TerminalResult],
                         ctx: FleetContext) -> None:  # fmt: skip
    """Episodes of terminals without a cause get the cause their own evidence points to."""
    for term, res in zip(terms, results, strict=True):
        if res.cause != NONE:
            continue
        for ep in term.episodes:
            if ep.family in FAMILY_LABEL:
                ep.cause = FAMILY_LABEL[ep.family]
            elif ep.family:
                ep.cause = resolve(ep.family, term, ctx)[0]
            else:
                ep.cause = NONE
                ep.evidence = ep.evidence or ["no evidence in the log around this episode"]


def relabel_groups(terms: list[Terminal], ctx: FleetContext) -> None:
    """A crash group whose crashes the readings explain (heat, memory, printer...) takes that
    cause in the report instead of a software one."""
    causes: dict[str, Counter] = {}
    for term in terms:
        for ep in term.episodes:
            if ep.end_kind in ("crash", "anr"):
                fp = ctx.fingerprint(ep.exception, ep.frames)[0]
                causes.setdefault(fp, Counter())[ep.cause] += 1
    software = ("software_defect", "compatibility", "outdated_software")
    for fp, counter in causes.items():
        group = ctx.groups.get(fp)
        if group is None:
            continue
        top, n = counter.most_common(1)[0]
        if top not in software and top != NONE and n > sum(counter.values()) / 2:
            group.cause = top
            group.why = [f"{n} of {sum(counter.values())} of its crashes in flows were {top}"]


# ---------------------------------------------------------------------------- terminal bonuses
def _pin_misuse(term: Terminal) -> int:
    return term.pin_outcomes.get("cancelled", 0) + term.pin_outcomes.get("timeout", 0)


def _typical_rate(terms: list[Terminal], count) -> float:  # noqa: ANN001
    """Per flow, the mean rate of the fleet's lower 80 % (what an ordinary terminal shows), or
    NOISE_PRIOR when the fleet is too small to have an ordinary part."""
    rates = sorted(count(t) / t.flows for t in terms if t.flows >= MIN_FLOWS_FOR_BASELINE)
    if len(rates) < MIN_TERMINALS_FOR_BASELINE:
        return NOISE_PRIOR
    low = rates[: max(1, int(len(rates) * BASELINE_SHARE))]
    return sum(low) / len(low)


def _bonuses(term: Terminal, ctx: FleetContext, baseline: dict[str, float]) -> dict[str, list[str]]:
    """Terminal-level facts that add weight to a family (each one said in words)."""
    out: dict[str, list[str]] = {}
    flows = max(1, term.flows)
    misuse = _pin_misuse(term)
    if misuse >= 3 and misuse / flows >= 3 * baseline.get("pin_misuse", 0.0):
        out.setdefault("operator", []).append(
            f"{misuse} PIN entries cancelled or timed out in {term.flows} flows"
        )
    wrong = term.card_errors.get("wrong_method", 0)
    if wrong >= 3 and wrong / flows >= 3 * baseline.get("wrong_method", 0.0):
        out.setdefault("operator", []).append(f"{wrong} card reads with the wrong method first")
    if term.signal_n >= 3 and term.weak_n / term.signal_n >= 0.5:
        out.setdefault("network", []).append(
            f"signal_dbm averages {term.signal_sum / term.signal_n:.0f} (weak below -100)"
        )
    shared = sum(
        1
        for ep in term.episodes
        if ep.family == "network"
        and ctx.merchant_shared(term.mid, term.tid, ep.t1)
        and not ctx.fleet_wide(ep.t1)
    )
    if shared >= 2:
        out.setdefault("network", []).append(
            f"merchant {term.mid}: other terminals lost the network at the same time"
            f" ({shared} episodes)"
        )
    if term.mismatches:
        out.setdefault("parameter", []).append(_mismatch_words(term))
    if term.params_version and ctx.current_params and term.params_version != ctx.current_params:
        out.setdefault("parameter", []).append(
            f"params_version {term.params_version} differs from the fleet's current"
            f" {ctx.current_params}"
        )
    if behind(term.app_version, ctx.current_version) >= 1.5:
        out.setdefault("software", []).append(
            f"app_version {term.app_version} is behind the fleet's current {ctx.current_version}"
        )
    age = maintenance_age(term, ctx)
    if age is not None and age > MAINTENANCE_DAYS:
        out.setdefault("wear", []).append(
            f"last_maintenance {term.last_maintenance}: {age} days before the log"
        )
    if term.lowmem_n >= 3:
        out.setdefault("memory", []).append(
            f"free memory near zero in {term.lowmem_n} health readings"
        )
    if term.hot_n >= 3:
        out.setdefault("overheat", []).append(
            f"cpu_temp_c over {HOT_C:.0f} in {term.hot_n} of {term.health_n} health readings"
            f" (max {term.temp_max:.0f})"
        )
    if term.unstable_n >= 2 or term.lowbatt_n >= 2:
        out.setdefault("power", []).append(
            f"power=unstable in {term.unstable_n} and battery <=5% in {term.lowbatt_n}"
            " health readings"
        )
    return out


def _mismatch_words(term: Terminal) -> str:
    fields = ", ".join(f for f, _ in Counter(term.mismatch_fields).most_common(3))
    return f"{term.mismatches} params mismatch events (field {fields})"


def maintenance_age(term: Terminal, ctx: FleetContext) -> int | None:
    """Days from last_maintenance to the start of this terminal's log."""
    if not term.last_maintenance:
        return None
    try:
        done = date.fromisoformat(term.last_maintenance[:10])
    except ValueError:
        return None
    start = date.fromisoformat(format_ts(term.first_t or ctx.start_t)[:10])
    return (start - done).days


# ---------------------------------------------------------------------------- family splits
def resolve(family: str, term: Terminal, ctx: FleetContext) -> tuple[str, float, list[str]]:
    """(label, confidence of the split 0..1, why) for a family on this terminal."""
    if family in FAMILY_LABEL:
        return FAMILY_LABEL[family], 1.0, []
    if family == "software":
        scores, why = _split_software(term, ctx)
    elif family == "wear":
        scores, why = _split_wear(term, ctx)
    elif family == "operator":
        scores, why = _split_operator(term, ctx)
    else:
        return NONE, 0.0, []
    ranked = sorted(scores, key=lambda k: -scores[k])
    best = ranked[0]
    total = sum(max(0.0, v) for v in scores.values())
    conf = scores[best] / total if total > 0 else 0.34
    return best, conf, why.get(best, [])


def _split_software(term: Terminal, ctx: FleetContext) -> tuple[dict, dict]:
    eps = [e for e in term.episodes if e.family == "software"]
    scores = {"software_defect": 0.0, "compatibility": 0.0, "outdated_software": 0.0}
    why: dict[str, list[str]] = {k: [] for k in scores}
    crash_eps = [e for e in eps if e.kind == "crash"]
    fmt_eps = [e for e in eps if e.kind == "format"]
    kill_eps = [e for e in eps if e.kind == "kill"]
    lag = behind(term.app_version, ctx.current_version)
    if lag >= 1:
        scores["outdated_software"] += 1.5 * lag
    if fmt_eps:
        scores["outdated_software"] += 3.0 * len(fmt_eps) / max(1, len(eps))
        why["outdated_software"].append(f"39=30 (format error) on {term.rc.get('30', 0)} responses")
    if kill_eps:
        # no report to group and no reading to blame: nothing points to a version or a model
        scores["software_defect"] += 1.0 * len(kill_eps) / max(1, len(eps))
        why["software_defect"].append(
            f"{len(kill_eps)} exits reason=killed mid-flow with nothing in the readings to blame"
            " (an unstable app or system)"
        )
    groups: Counter = Counter()
    for e in crash_eps:
        g = ctx.group_of(e.exception, e.frames)
        if g is not None:
            groups[g.fingerprint] += 1
            scores[g.cause] += 3.0 / max(1, len(eps))
    for fp, k in groups.most_common(2):
        g = ctx.groups[fp]
        why[g.cause].append(_group_words(g, k))
        why[g.cause].extend(g.why)
        if g.cause == "software_defect":
            onset = _onset(term, g)
            if onset:
                why[g.cause].append(onset)
    version_bad = lag == 0 and flagged_version(ctx, term.app_version or "")
    if version_bad:
        scores["software_defect"] += 1.5
        rate = ctx.by_version[term.app_version or ""]
        why["software_defect"].append(
            f"app_version {term.app_version} crash-free sessions {100 * rate.crash_free:.1f}%"
            f" vs fleet {100 * ctx.overall.crash_free:.1f}%"
        )
    model = ctx.model_key(term)
    if flagged_model(ctx, model) and not version_bad:
        scores["compatibility"] += 1.5
        rate = ctx.by_model[model]
        why["compatibility"].append(
            f"{model} crash rate {100 * rate.crash_rate:.1f}% of sessions (over the 8% line)"
        )
    return scores, why


def _group_words(g: CrashGroup, k: int) -> str:
    version = g.versions.most_common(1)[0][0]
    return f"{k} crash(es) of group '{g.fingerprint}' (app_version {version})"


def _onset(term: Terminal, g: CrashGroup) -> str:
    version = g.versions.most_common(1)[0][0]
    for t, old, new in term.versions:
        if new == version and old is not None:
            before = sum(1 for c in term.crashes if c.t < t)
            after = sum(1 for c in term.crashes if c.t >= t)
            if after and not before:
                return f"crashes began after app_version {version} was installed on" \
                       f" {format_ts(t)[:10]}"  # fmt: skip
    return ""


def _split_wear(term: Terminal, ctx: FleetContext) -> tuple[dict, dict]:
    eps = [e for e in term.episodes if e.family == "wear"]
    n = max(1, len(eps))
    kinds = Counter(e.kind for e in eps)
    scores = {"hardware_printer": 0.0, "maintenance_overdue": 0.0, "environment_interference": 0.0}
    why: dict[str, list[str]] = {k: [] for k in scores}
    age = maintenance_age(term, ctx)
    if age is not None and age > MAINTENANCE_DAYS:
        scores["maintenance_overdue"] += 2.5 + (0.5 if age > 365 else 0.0)
    elif age is None and term.maint_null:
        scores["maintenance_overdue"] += 1.0
        why["maintenance_overdue"].append("no maintenance on record (last_maintenance null)")
    elif age is not None:
        scores["environment_interference"] += 0.5
        scores["hardware_printer"] += 0.5
    trend = _wear_trend(term)
    if trend:
        scores["maintenance_overdue"] += 1.5
        why["maintenance_overdue"].append(trend)
    if kinds["printer"] and kinds["reader"]:
        scores["maintenance_overdue"] += 0.5
    scores["hardware_printer"] += 3.0 * kinds["printer"] / n
    if term.printer_faults:
        why["hardware_printer"].append(
            f"printer jam/head_fault in {term.printer_faults} health readings"
        )
    why["hardware_printer"].insert(
        0, f"{kinds['printer']} of {len(term.episodes)} episodes broke at the receipt screen"
    )
    scores["environment_interference"] += 3.0 * kinds["environment"] / n
    scores["environment_interference"] += 1.0 * kinds["reader"] / n
    scores["maintenance_overdue"] += 1.0 * kinds["reader"] / n
    bursts = sum(1 for e in eps if e.swipe_burst >= 2)
    scores["environment_interference"] += 1.5 * bursts / n
    if term.card_errors:
        reads = ("bad_read", "lrc", "chip_mute", "no_code")
        read_errors = sum(v for k, v in term.card_errors.items() if k in reads)
        swipe_share = term.swipe_errors / max(1, read_errors)
        if swipe_share >= 0.6:
            scores["environment_interference"] += 0.5
    resets = sum(1 for e in eps if e.end_kind == "watchdog")
    if resets:
        why["environment_interference"].append(
            f"{resets} watchdog resets with normal cpu_temp_c, memory and power"
        )
    if term.swipe_errors:
        burst_words = f"; {bursts} of {n} episodes right after a burst of them" if bursts else ""
        why["environment_interference"].append(
            f"{term.swipe_errors} swipe read errors (bad_read/lrc){burst_words}"
        )
    why["maintenance_overdue"].append(
        f"{sum(term.card_errors.values())} card read errors, {term.printer_faults} printer faults"
    )
    return scores, why


def _wear_trend(term: Terminal) -> str:
    """'reader/printer errors rose from a% to b%' when they worsen over the days, else ''."""
    days = sorted(term.days)
    if len(days) < 3:
        return ""
    rows = [term.days[d] for d in days]
    half = len(rows) // 2
    first, last = rows[:half], rows[-half:]

    def rate(part: list[list[int]]) -> tuple[float, int]:
        errs = sum(r[1] + r[3] for r in part)
        ops = sum(r[0] + r[2] for r in part)
        return (errs / ops if ops else 0.0), errs

    r1, _ = rate(first)
    r2, e2 = rate(last)
    if e2 >= 4 and r2 >= 1.5 * r1 and r2 - r1 >= 0.02:
        return f"reader/printer errors rose from {100 * r1:.1f}% to {100 * r2:.1f}% of uses"
    return ""


def _split_operator(term: Terminal, ctx: FleetContext) -> tuple[dict, dict]:
    eps = [e for e in term.episodes if e.family == "operator"]
    scores = {"operator_error": 0.0, "training_gap": 0.0}
    why: dict[str, list[str]] = {k: [] for k in scores}
    by_op = Counter(e.operator for e in eps)
    trained = untrained = 0
    for op, k in by_op.items():
        status = ctx.is_trained(op)
        if status is True:
            trained += k
        elif status is False:
            untrained += k
    known = trained + untrained
    if known:
        scores["operator_error"] += 3.0 * trained / known
        scores["training_gap"] += 3.0 * untrained / known
    elif ctx.trained and not term.trained:
        # operators not logged: the fleet keeps training records, this terminal has none
        scores["training_gap"] += 1.5
        scores["operator_error"] += 1.0
        why["training_gap"].append("no training record on this terminal (the fleet keeps them)")
    elif ctx.trained and len(term.trained) < ctx.typical_trained:
        scores["training_gap"] += 1.2
        scores["operator_error"] += 1.0
        why["training_gap"].append(
            f"operators not logged; {len(term.trained)} training record(s) on this terminal"
            f" where the fleet's terminals typically have {ctx.typical_trained}"
        )
    else:
        scores["operator_error"] += 1.0
    for op, k in by_op.most_common(2):
        flows = term.ops.get(op, [0, 0])[0] if op else 0
        kinds = Counter(_op_kind(e) for e in eps if e.operator == op)
        detail = ", ".join(f"{name} x{c}" for name, c in kinds.most_common())
        who = f"operator {op}" if op else "no operator logged in"
        line = (
            f"{who}: {k} of {flows} flows broke ({detail})" if flows else f"{who}: {k} ({detail})"
        )
        status = ctx.is_trained(op)
        if status is False:
            why["training_gap"].extend([line, f"operator {op} has no training record"])
            why["operator_error"].append(line)
        else:
            why["operator_error"].append(line)
            if status:
                why["operator_error"].append(f"operator {op} has a training record")
            why["training_gap"].append(line)
    return scores, why


def _op_kind(e: Episode) -> str:
    if "55" in e.rcs:
        return "wrong PIN"
    if "timeout" in e.pins:
        return "PIN timeout"
    if any(c[1] == "wrong_method" for c in e.card_errors):
        return "wrong method"
    return "abandoned"


# ---------------------------------------------------------------------------- evidence in words
def terminal_evidence(label: str, term: Terminal, ctx: FleetContext) -> list[str]:
    """The facts from the log that support `label` on this terminal, in words."""
    eps = term.episodes
    exits = [e for e in eps if e.is_exit]
    out: list[str] = []
    if label == "hardware_overheat":
        hot = [e.temp_max for e in exits if e.temp_max is not None and e.temp_max > HOT_C]
        if hot:
            out.append(
                f"cpu_temp_c {min(hot):.0f}-{max(hot):.0f} before {len(hot)} of {len(exits)} exits"
            )
    elif label == "hardware_memory":
        low = [e.mem_min for e in exits if e.family == "memory" and e.mem_min is not None]
        if low:
            out.append(
                f"mem_free_mb {min(low):.0f}-{max(low):.0f} before {len(low)} of {len(exits)} exits"
            )
        ooms = sum(1 for e in eps if e.exception and "memory" in e.exception.lower())
        if ooms:
            out.append(f"{ooms} out-of-memory exceptions")
    elif label == "hardware_power":
        lost = sum(1 for e in eps if e.end_kind in ("power_loss", "restart"))
        out.append(f"{lost} of {len(eps)} episodes ended by power loss or a restart with no exit")
    elif label == "network":
        net = [e for e in eps if e.family == "network"]
        online = sum(1 for e in net if e.screen == "online")
        out.append(f"{online} of {len(eps)} episodes left from online after timeout/conn_fail")
        if term.net_trouble_n:
            out.append(f"{term.net_trouble_n} net down/reset/connect_fail events")
        host = sum(1 for e in net if e.weight < 1)
        if host:
            out.append(f"{host} episodes during fleet-wide network trouble counted less")
    elif label == "parameter_mismatch":
        bad = {rc: k for rc, k in term.rc.items() if rc in RC_PARAMETER}
        if bad:
            out.append("39=" + "/".join(sorted(bad)) + f" on {sum(bad.values())} responses")
        if term.mac_fails:
            out.append(f"{term.mac_fails} MAC failures")
        for t, version in term.params_applied:
            if version != ctx.current_params:
                out.append(f"params {version} applied on {format_ts(t)[:10]}")
                break
    elif label == "outdated_software":
        out.append(f"app_version {term.app_version} vs fleet's current {ctx.current_version}")
    elif label in ("software_defect", "compatibility"):
        crashes = sum(1 for e in eps if e.end_kind in ("crash", "anr"))
        kills = sum(1 for e in eps if e.kind == "kill")
        if crashes or not kills:
            out.append(f"{crashes} of {len(eps)} episodes were crashes/ANRs")
        if kills:
            out.append(f"{kills} of {len(eps)} episodes were the app killed mid-flow")
    return out
