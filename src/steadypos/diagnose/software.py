"""The software family: which crash group is which cause (its spread over versions, models and
firmwares), and a terminal's software episodes split into defect, compatibility and outdated."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from steadypos.diagnose.crashgroups import CrashGroup
from steadypos.diagnose.evidence import Scored
from steadypos.diagnose.fleet import FleetContext, behind, flagged_model, flagged_version
from steadypos.diagnose.splits import Split, SplitRule, weigh
from steadypos.diagnose.taxonomy import SOFTWARE_CAUSES, VITALS_OVERALL, Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.eventlog import format_ts

CONCENTRATED = 0.9  # share of a group's crashes on one brand/model/firmware: "concentrated"
MIN_RATE_SESSIONS = 10  # sessions elsewhere needed to say a version is fine elsewhere


@dataclass(frozen=True)
class GroupCause:
    """The software cause a crash group's spread points to, and why."""

    cause: Cause
    why: tuple[str, ...]
    sporadic: bool  # about one crash per terminal and no release stands out: background noise


@dataclass
class GroupFacts:
    group: CrashGroup
    current: str | None
    lag: float  # how far its main version is behind the fleet's current one
    all_old: bool  # never seen on the current version
    models: int  # brand/models it hit (known ones)
    combo: str  # the brand/model/firmware most of it hit
    combo_share: float
    combo_terminals: float
    release_bad: bool  # its (current) version's crash-free rate stands out
    release_words: str
    fine_elsewhere: float | None  # crash rate of its version on other models


GROUP_RULES: tuple[SplitRule[GroupFacts], ...] = (
    SplitRule(Cause.OUTDATED_SOFTWARE, 2.0, lambda f: f.lag,
              lambda f: f"on app_version {f.group.main_version}, behind the fleet's current"
              f" {f.current}"),
    SplitRule(Cause.OUTDATED_SOFTWARE, 1.0, lambda f: float(f.all_old and f.lag >= 1),
              lambda f: "never seen on the current version (fixed since)"),
    SplitRule(Cause.SOFTWARE_DEFECT, 1.5, lambda f: float(f.models >= 2),
              lambda f: f"same crash on {f.models} brand/models, {len(f.group.terminals)}"
              " terminals"),
    SplitRule(Cause.SOFTWARE_DEFECT, 1.0, lambda f: float(f.models >= 3), lambda f: None),
    SplitRule(Cause.SOFTWARE_DEFECT, 1.0, lambda f: float(f.release_bad),
              lambda f: f.release_words),
    SplitRule(Cause.SOFTWARE_DEFECT, 0.5, lambda f: float(not f.group.vendor), lambda f: None),
    SplitRule(Cause.COMPATIBILITY, 1.0, lambda f: float(f.group.vendor),
              lambda f: f"innermost frame in vendor/SDK code: {f.group.vendor_frame}"),
    SplitRule(Cause.COMPATIBILITY, 1.5,
              lambda f: float(f.combo_share >= CONCENTRATED and f.combo_terminals >= 2),
              lambda f: f"concentrated on {f.combo}: {len(f.group.terminals)} terminals"),
    SplitRule(Cause.COMPATIBILITY, 1.0,
              lambda f: float(f.combo_share >= CONCENTRATED and f.combo_terminals >= 2
                              and f.fine_elsewhere is not None),
              lambda f: f"app_version {f.group.main_version} is"
              f" {100 * (1 - (f.fine_elsewhere or 0)):.1f}% crash-free on other models"),
)  # fmt: skip


def _release_words(ctx: FleetContext, version: str) -> str:
    rate = ctx.by_version[version]
    return (f"app_version {version} crash-free sessions {100 * rate.crash_free:.1f}%"
            f" vs fleet {100 * ctx.overall.crash_free:.1f}%")  # fmt: skip


def _rate_elsewhere(ctx: FleetContext, combo: str, version: str) -> float | None:
    """The version's crash rate on other brand/model/firmwares, when it is low (fine there)."""
    sessions = crashes = 0
    for (c, v), rate in ctx.by_combo_version.items():
        if v == version and c != combo:
            sessions += rate.sessions
            crashes += rate.crashes
    if sessions < MIN_RATE_SESSIONS:
        return None
    elsewhere = crashes / sessions
    return elsewhere if elsewhere <= max(VITALS_OVERALL, 2 * ctx.overall.crash_rate) else None


def _group_facts(g: CrashGroup, ctx: FleetContext) -> GroupFacts:
    main = g.main_version
    lag = behind(main, ctx.current_version)
    known = Counter({c: k for c, k in g.combos.items() if not c.startswith("?")})
    combo, top = (known.most_common(1) or [("?", 0)])[0]
    share = top / max(1, sum(known.values()))
    bad = lag == 0 and flagged_version(ctx, main)
    return GroupFacts(
        g, ctx.current_version, lag, all(behind(v, ctx.current_version) >= 1 for v in g.versions),
        len([m for m in g.models if not m.startswith("?")]), combo, share,
        len(g.terminals) * share, bad, _release_words(ctx, main) if bad else "",
        _rate_elsewhere(ctx, combo, main),
    )  # fmt: skip


def classify_groups(ctx: FleetContext) -> dict[str, GroupCause]:
    """Each crash group's software cause (and why), by fingerprint."""
    out: dict[str, GroupCause] = {}
    for fp, g in ctx.groups.items():
        facts = _group_facts(g, ctx)
        split = weigh(SOFTWARE_CAUSES, GROUP_RULES, facts)
        per_terminal = sorted(g.terminals.values())
        sporadic = per_terminal[len(per_terminal) // 2] <= 1 and not facts.release_bad
        out[fp] = GroupCause(split.best, tuple(split.why[split.best]), sporadic)
    return out


@dataclass
class SoftwareFacts:
    term: TerminalRecord
    ctx: FleetContext
    n: int  # software episodes
    lag: float
    formats: int  # episodes with 39=30 (format error)
    kills: int  # killed mid-flow with nothing in the readings to blame
    groups: Counter = field(default_factory=Counter)  # fingerprint -> this terminal's crashes
    causes: Counter = field(default_factory=Counter)  # group cause -> crashes
    release_bad: bool = False
    model_bad: bool = False
    group_words: dict[Cause, list[str]] = field(default_factory=dict)


SOFTWARE_RULES: tuple[SplitRule[SoftwareFacts], ...] = (
    SplitRule(Cause.OUTDATED_SOFTWARE, 1.5, lambda f: f.lag if f.lag >= 1 else 0.0, lambda f: None),
    SplitRule(Cause.OUTDATED_SOFTWARE, 3.0, lambda f: f.formats / f.n,
              lambda f: f"39=30 (format error) on {f.term.n.rc.get('30', 0)} responses"),
    # a kill leaves no report to group and no reading to blame: nothing points to a version or
    # a model, so it is the seed's "unstable system"
    SplitRule(Cause.SOFTWARE_DEFECT, 1.0, lambda f: f.kills / f.n,
              lambda f: f"{f.kills} exits reason=killed mid-flow with nothing in the readings to"
              " blame (an unstable app or system)"),
    *(SplitRule(c, 3.0, lambda f, c=c: f.causes[c] / f.n,  # type: ignore[misc]
                lambda f, c=c: "; ".join(f.group_words.get(c, [])) or None)  # type: ignore[misc]
      for c in SOFTWARE_CAUSES),
    SplitRule(Cause.SOFTWARE_DEFECT, 1.5, lambda f: float(f.release_bad),
              lambda f: _release_words(f.ctx, f.term.app_version or "")),
    SplitRule(Cause.COMPATIBILITY, 1.5, lambda f: float(f.model_bad and not f.release_bad),
              lambda f: f"{f.term.inv.model_key} crash rate"
              f" {100 * f.ctx.by_model[f.term.inv.model_key].crash_rate:.1f}% of sessions"
              " (over the 8% line)"),
)  # fmt: skip


def split_software(eps: list[Scored], term: TerminalRecord, ctx: FleetContext,
                   groups: dict[str, GroupCause]) -> Split:  # fmt: skip
    lag = behind(term.app_version, ctx.current_version)
    facts = SoftwareFacts(
        term, ctx, max(1, len(eps)), lag, sum(1 for s in eps if s.kind == "format"),
        sum(1 for s in eps if s.kind == "kill"),
    )  # fmt: skip
    for s in eps:
        if s.kind != "crash":
            continue
        g = ctx.group_of(s.episode.exception, s.episode.frames)
        if g is not None:
            facts.groups[g.fingerprint] += 1
            facts.causes[groups[g.fingerprint].cause] += 1
    for fp, k in facts.groups.most_common(2):
        g, gc = ctx.groups[fp], groups[fp]
        words = facts.group_words.setdefault(gc.cause, [])
        words.append(f"{k} crash(es) of group '{fp}' (app_version {g.main_version})")
        words.extend(gc.why)
        if gc.cause == Cause.SOFTWARE_DEFECT:
            words.extend(_onset(term, g))
    facts.release_bad = lag == 0 and flagged_version(ctx, term.app_version or "")
    facts.model_bad = flagged_model(ctx, term.inv.model_key)
    return weigh(SOFTWARE_CAUSES, SOFTWARE_RULES, facts)


def _onset(term: TerminalRecord, g: CrashGroup) -> list[str]:
    """'crashes began after app_version X was installed on D' when they did."""
    version = g.main_version
    for change in term.versions:
        if change.new == version:
            before = sum(1 for c in term.crashes if c.t < change.t)
            after = sum(1 for c in term.crashes if c.t >= change.t)
            if after and not before:
                return [f"crashes began after app_version {version} was installed on"
                        f" {format_ts(change.t)[:10]}"]  # fmt: skip
    return []
