"""Fleet-level signals: current app/params versions, crash groups, crash-free session rates by
version and brand/model, training record keeping, merchant-wide and host-side network trouble."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

from steadypos.diagnose.crashgroups import CrashGroup, app_prefix, fingerprint
from steadypos.diagnose.records import Crash
from steadypos.diagnose.taxonomy import VITALS_OVERALL, VITALS_PER_MODEL
from steadypos.diagnose.tracker import TerminalRecord

FLEET_EVENT_BIN_S = 600.0  # network trouble in the same 10 minutes across many merchants
MERCHANT_WINDOW_S = 900.0  # trouble on another terminal of the merchant this close
# A host-side event: trouble at this many merchants at once (at least 5, or a tenth of them).
FLEET_EVENT_MERCHANTS, FLEET_EVENT_SHARE = 5, 0.1
# The fleet keeps training records when this share of its terminals logs any: then a missing
# record for an operator who is not logged in at all counts as absence (see people.py).
TRAINING_KEPT_SHARE = 0.25
MIN_SESSIONS = 5  # fewer sessions than this: a rate that says nothing


def version_key(version: str | None) -> tuple[int, ...]:
    """'4.10.2' -> (4, 10, 2); anything without digits sorts first."""
    if not version:
        return ()
    return tuple(int(x) for x in re.findall(r"\d+", version)[:4])


def behind(version: str | None, current: str | None) -> float:
    """How far a version is behind the fleet's current one: 0 (not behind), 0.3 (patch),
    1 (one minor), 1.5 (two or more minors), 2 (a major)."""
    a, b = version_key(version), version_key(current)
    if not a or not b or a >= b:
        return 0.0
    a3 = (a + (0, 0, 0))[:3]
    b3 = (b + (0, 0, 0))[:3]
    if a3[0] < b3[0]:
        return 2.0
    if a3[1] < b3[1]:
        return 1.0 if b3[1] - a3[1] == 1 else 1.5
    return 0.3


@dataclass
class SessionRate:
    """Sessions and crashed sessions (crash-free rate, Sentry / Android vitals style)."""

    sessions: int = 0
    crashes: int = 0
    terminals: int = 0

    @property
    def crash_free(self) -> float:
        return 1.0 - self.crashes / self.sessions if self.sessions else 1.0

    @property
    def crash_rate(self) -> float:
        return self.crashes / self.sessions if self.sessions else 0.0


@dataclass
class FleetContext:
    """What the whole fleet says, against which each terminal is judged."""

    start_t: float = 0.0
    end_t: float = 0.0
    current_version: str | None = None
    current_params: str | None = None
    keeps_training: bool = False
    app_prefix: str | None = None
    groups: dict[str, CrashGroup] = field(default_factory=dict)
    by_version: dict[str, SessionRate] = field(default_factory=dict)
    by_model: dict[str, SessionRate] = field(default_factory=dict)
    by_combo_version: dict[tuple[str, str], SessionRate] = field(default_factory=dict)
    overall: SessionRate = field(default_factory=SessionRate)
    merchant_trouble: dict[str, tuple[list[float], list[str]]] = field(default_factory=dict)
    fleet_event_bins: set[int] = field(default_factory=set)

    def group_of(self, exception: str | None, frames: tuple[str, ...]) -> CrashGroup | None:
        return self.groups.get(fingerprint(self.app_prefix, exception, frames).key)

    def merchant_shared(self, mid: str | None, tid: str, t: float) -> bool:
        """Did another terminal of the same merchant have network trouble around time t?"""
        if mid is None or mid not in self.merchant_trouble:
            return False
        times, tids = self.merchant_trouble[mid]
        lo = bisect.bisect_left(times, t - MERCHANT_WINDOW_S)
        hi = bisect.bisect_right(times, t + MERCHANT_WINDOW_S)
        return any(tids[i] != tid for i in range(lo, hi))

    def fleet_wide(self, t: float) -> bool:
        """Was there network trouble across many merchants at once (a host-side event)?"""
        return int(t // FLEET_EVENT_BIN_S) in self.fleet_event_bins


def _mode(counter: Counter) -> str | None:
    if not counter:
        return None
    best = max(counter.values())
    return max((k for k, v in counter.items() if v == best), key=version_key)


def build_context(terms: list[TerminalRecord]) -> FleetContext:
    """One pass over the terminals' summaries (not over the events)."""
    ctx = FleetContext()
    ctx.start_t = min((t.first_t for t in terms), default=0.0)
    ctx.end_t = max((t.last_t for t in terms), default=0.0)
    ctx.current_version = _mode(Counter(t.app_version for t in terms if t.app_version))
    ctx.current_params = _mode(Counter(t.inv.params_version for t in terms
                                       if t.inv.params_version))  # fmt: skip
    ctx.keeps_training = sum(1 for t in terms if t.trained) >= TRAINING_KEPT_SHARE * len(terms)
    ctx.app_prefix = app_prefix([c for t in terms for c in t.crashes])
    for term in terms:
        _add_terminal(ctx, term)
    _network_trouble(ctx, terms)
    return ctx


def _add_terminal(ctx: FleetContext, term: TerminalRecord) -> None:
    model, combo = term.inv.model_key, term.inv.combo_key
    for crash in term.crashes:
        _add_crash(ctx, term.tid, crash, model, combo)
    for version, row in term.sessions.items():
        for rate in (
            ctx.by_version.setdefault(version, SessionRate()),
            ctx.by_model.setdefault(model, SessionRate()),
            ctx.by_combo_version.setdefault((combo, version), SessionRate()),
            ctx.overall,
        ):
            rate.sessions += row.sessions
            rate.crashes += row.crashed
        ctx.by_version[version].terminals += 1
        ctx.by_combo_version[(combo, version)].terminals += 1
    if term.sessions:
        ctx.by_model[model].terminals += 1


def _add_crash(ctx: FleetContext, tid: str, crash: Crash, model: str, combo: str) -> None:
    fp = fingerprint(ctx.app_prefix, crash.exception, crash.frames)
    group = ctx.groups.get(fp.key)
    if group is None:
        group = ctx.groups[fp.key] = CrashGroup(
            fp.key, crash.exception or "(no exception)", fp.in_app, fp.vendor_frame,
            crash.t, crash.t,
        )  # fmt: skip
    group.add(tid, crash, model, combo)


def _network_trouble(ctx: FleetContext, terms: list[TerminalRecord]) -> None:
    """Per merchant (sorted times) and host-side bins: trouble at many merchants at once."""
    per_mid: dict[str, list[tuple[float, str]]] = {}
    bins: dict[int, set[str]] = {}
    for term in terms:
        mid = term.inv.mid or f"?{term.tid}"
        if term.trouble:
            per_mid.setdefault(mid, []).extend((t, term.tid) for t in term.trouble)
        for t in term.trouble:
            bins.setdefault(int(t // FLEET_EVENT_BIN_S), set()).add(mid)
    for mid, rows in per_mid.items():
        rows.sort()
        ctx.merchant_trouble[mid] = ([r[0] for r in rows], [r[1] for r in rows])
    merchants = len({t.inv.mid or t.tid for t in terms})
    need = max(FLEET_EVENT_MERCHANTS, int(FLEET_EVENT_SHARE * merchants))
    ctx.fleet_event_bins = {b for b, mids in bins.items() if len(mids) >= need}
    # a bin next to a fleet-wide one is part of the same event
    ctx.fleet_event_bins |= {b + d for b in ctx.fleet_event_bins for d in (-1, 1)}


def _rest_rate(ctx: FleetContext, rate: SessionRate) -> float:
    rest_s = ctx.overall.sessions - rate.sessions
    rest_c = ctx.overall.crashes - rate.crashes
    return rest_c / rest_s if rest_s else 0.0


def flagged_version(ctx: FleetContext, version: str) -> bool:
    """A release whose crash rate stands out: over 1.09 % and over twice the rest of the fleet."""
    rate = ctx.by_version.get(version)
    if rate is None or rate.sessions < MIN_SESSIONS:
        return False
    return rate.crash_rate > VITALS_OVERALL and rate.crash_rate > 2 * _rest_rate(ctx, rate)


def flagged_model(ctx: FleetContext, model: str) -> bool:
    """A brand/model that stands out: over the 8 % per-model line (Android vitals) and over
    twice the rest of the fleet."""
    rate = ctx.by_model.get(model)
    if rate is None or rate.sessions < MIN_SESSIONS:
        return False
    return rate.crash_rate > VITALS_PER_MODEL and rate.crash_rate > 2 * _rest_rate(ctx, rate)
