"""Fleet-level signals: current app/params versions, crash groups (Sentry-style fingerprints),
crash-free session rates by version and brand/model, trained operators, merchant-wide outages."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

from steadypos.diagnose.episodes import Crash, Terminal
from steadypos.diagnose.taxonomy import VITALS_OVERALL, VITALS_PER_MODEL

_PLATFORM = (
    "java.", "javax.", "android.", "androidx.", "kotlin.", "kotlinx.", "dalvik.", "com.android.",
    "sun.", "libcore.", "com.google.", "org.apache.", "okhttp3.", "libc", "/system/",
)  # fmt: skip
_VENDOR_HINTS = ("sdk", "vendor", "driver", "dal.", ".hal", "firmware", "device", "jni", "native")
FLEET_EVENT_BIN_S = 600.0  # network trouble in the same 10 minutes across many merchants
MERCHANT_WINDOW_S = 900.0  # trouble on another terminal of the merchant this close


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


def frame_prefix(frame: str) -> str:
    parts = frame.split(".")
    return ".".join(parts[:2]) + "." if len(parts) > 2 else frame


def is_platform(frame: str) -> bool:
    return frame.startswith(_PLATFORM)


@dataclass
class CrashGroup:
    """Crashes sharing a fingerprint: exception + first in-app frames."""

    fingerprint: str
    exception: str
    frames: tuple[str, ...]
    count: int = 0
    terminals: Counter = field(default_factory=Counter)  # tid -> crashes
    versions: Counter = field(default_factory=Counter)
    models: Counter = field(default_factory=Counter)  # "brand model"
    combos: Counter = field(default_factory=Counter)  # "brand model firmware"
    first_t: float = 0.0
    last_t: float = 0.0
    vendor: bool = False  # innermost frame in a vendor/SDK package (not the app, not platform)
    vendor_frame: str = ""
    sporadic: bool = False  # one crash per terminal (median) and no release stands out
    cause: str = ""  # software_defect / compatibility / outdated_software (set by scoring)
    why: list[str] = field(default_factory=list)


@dataclass
class Rate:
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
    version_terminals: Counter = field(default_factory=Counter)
    params_terminals: Counter = field(default_factory=Counter)
    trained: set[str] = field(default_factory=set)
    typical_trained: int = 0  # median training records per terminal (of those with any)
    app_prefix: str | None = None
    groups: dict[str, CrashGroup] = field(default_factory=dict)
    by_version: dict[str, Rate] = field(default_factory=dict)
    by_model: dict[str, Rate] = field(default_factory=dict)
    by_combo_version: dict[tuple[str, str], Rate] = field(default_factory=dict)
    overall: Rate = field(default_factory=Rate)
    merchant_trouble: dict[str, tuple[list[float], list[str]]] = field(default_factory=dict)
    fleet_event_bins: set[int] = field(default_factory=set)
    mids_with_trouble: int = 0

    # ------------------------------------------------------------------ lookups
    def fingerprint(self, exception: str | None, frames: tuple[str, ...]) -> tuple[str, bool, str]:
        """(fingerprint, vendor innermost?, that vendor frame) for a crash."""
        prefix = self.app_prefix
        in_app = [f for f in frames if prefix and f.startswith(prefix)]
        top = in_app[:2] if in_app else list(frames[:2])
        name = exception or "(no exception)"
        fp = name + (" @ " + " < ".join(top) if top else "")
        vendor, vframe = False, ""
        if frames:
            inner = frames[0]
            own = bool(prefix) and inner.startswith(prefix or "")
            hinted = any(h in inner.lower() for h in _VENDOR_HINTS)
            if not own and (not is_platform(inner) or hinted):
                vendor, vframe = True, inner
        return fp, vendor, vframe

    def group_of(self, exception: str | None, frames: tuple[str, ...]) -> CrashGroup | None:
        return self.groups.get(self.fingerprint(exception, frames)[0])

    def is_trained(self, operator: str | None) -> bool | None:
        """True/False when the fleet keeps training records; None when it keeps none at all."""
        if not self.trained:
            return None
        if operator is None:
            return None
        return operator in self.trained

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

    def model_key(self, term: Terminal) -> str:
        return f"{term.brand or '?'} {term.model or '?'}"

    def combo_key(self, term: Terminal) -> str:
        return f"{term.brand or '?'} {term.model or '?'} {term.firmware or '?'}"


def _mode(counter: Counter) -> str | None:
    if not counter:
        return None
    best = max(counter.values())
    return max((k for k, v in counter.items() if v == best), key=version_key)


def build_context(terms: list[Terminal]) -> FleetContext:
    """One pass over the terminals' summaries (not over the events)."""
    ctx = FleetContext()
    firsts = [t.first_t for t in terms if t.first_t is not None]
    ctx.start_t = min(firsts) if firsts else 0.0
    ctx.end_t = max((t.last_t for t in terms), default=0.0)
    for term in terms:
        if term.app_version:
            ctx.version_terminals[term.app_version] += 1
        if term.params_version:
            ctx.params_terminals[term.params_version] += 1
        ctx.trained |= term.trained
    counts = sorted(len(t.trained) for t in terms if t.trained)
    ctx.typical_trained = counts[len(counts) // 2] if counts else 0
    ctx.current_version = _mode(ctx.version_terminals)
    ctx.current_params = _mode(ctx.params_terminals) if ctx.params_terminals else None
    # the app's own package: the non-platform prefix present in most crashes
    prefixes: Counter = Counter()
    for term in terms:
        for crash in term.crashes:
            prefixes.update({frame_prefix(f) for f in crash.frames if not is_platform(f)})
    ctx.app_prefix = prefixes.most_common(1)[0][0] if prefixes else None
    # crash groups and crash-free sessions
    for term in terms:
        model, combo = ctx.model_key(term), ctx.combo_key(term)
        for crash in term.crashes:
            _add_crash(ctx, term, crash, model, combo)
        for version, (sessions, crashes) in term.sessions.items():
            for rate in (
                ctx.by_version.setdefault(version, Rate()),
                ctx.by_model.setdefault(model, Rate()),
                ctx.by_combo_version.setdefault((combo, version), Rate()),
                ctx.overall,
            ):
                rate.sessions += sessions
                rate.crashes += crashes
        for version in term.sessions:
            ctx.by_version[version].terminals += 1
            ctx.by_combo_version[(combo, version)].terminals += 1
        if term.sessions:
            ctx.by_model[model].terminals += 1
    # network trouble: per merchant (sorted times) and host-side bins across merchants
    per_mid: dict[str, list[tuple[float, str]]] = {}
    bins: dict[int, set[str]] = {}
    for term in terms:
        mid = term.mid or f"?{term.tid}"
        if term.trouble:
            per_mid.setdefault(mid, []).extend((t, term.tid) for t in term.trouble)
        for t in term.trouble:
            bins.setdefault(int(t // FLEET_EVENT_BIN_S), set()).add(mid)
    for mid, rows in per_mid.items():
        rows.sort()
        ctx.merchant_trouble[mid] = ([r[0] for r in rows], [r[1] for r in rows])
    ctx.mids_with_trouble = len(per_mid)
    need = max(5, int(0.1 * len({t.mid or t.tid for t in terms})))
    ctx.fleet_event_bins = {b for b, mids in bins.items() if len(mids) >= need}
    # a bin next to a fleet-wide one is part of the same event
    ctx.fleet_event_bins |= {b + d for b in ctx.fleet_event_bins for d in (-1, 1)}
    return ctx


def _add_crash(ctx: FleetContext, term: Terminal, crash: Crash, model: str, combo: str) -> None:
    fp, vendor, vframe = ctx.fingerprint(crash.exception, crash.frames)
    group = ctx.groups.get(fp)
    if group is None:
        prefix = ctx.app_prefix
        in_app = tuple(f for f in crash.frames if prefix and f.startswith(prefix))[:2]
        group = ctx.groups[fp] = CrashGroup(
            fp, crash.exception or "(no exception)", in_app or crash.frames[:2],
            first_t=crash.t, last_t=crash.t, vendor=vendor, vendor_frame=vframe,
        )  # fmt: skip
    group.count += 1
    group.terminals[term.tid] += 1
    group.versions[crash.version or "?"] += 1
    group.models[model] += 1
    group.combos[combo] += 1
    group.first_t = min(group.first_t, crash.t)
    group.last_t = max(group.last_t, crash.t)


def _rest_rate(ctx: FleetContext, rate: Rate) -> float:
    rest_s = ctx.overall.sessions - rate.sessions
    rest_c = ctx.overall.crashes - rate.crashes
    return rest_c / rest_s if rest_s else 0.0


def flagged_version(ctx: FleetContext, version: str) -> bool:
    """A release whose crash rate stands out: over 1.09 % and over twice the rest of the fleet."""
    rate = ctx.by_version.get(version)
    if rate is None or rate.sessions < 5:
        return False
    return rate.crash_rate > VITALS_OVERALL and rate.crash_rate > 2 * _rest_rate(ctx, rate)


def flagged_model(ctx: FleetContext, model: str) -> bool:
    """A brand/model that stands out: over the 8 % per-model line (Android vitals) and over
    twice the rest of the fleet."""
    rate = ctx.by_model.get(model)
    if rate is None or rate.sessions < 5:
        return False
    return rate.crash_rate > VITALS_PER_MODEL and rate.crash_rate > 2 * _rest_rate(ctx, rate)
