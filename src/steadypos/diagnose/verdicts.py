"""The decision: a verdict per terminal (cause, confidence, runner-up, evidence, actions) and per
episode, from episode families above the fleet's noise floor, split by terminal and fleet facts.
Nothing is changed in the episodes or the terminals: verdicts are new records."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from steadypos.diagnose.corroboration import (
    ALONE_WEIGHT,
    link_shown,
    printer_fault_read,
)
from steadypos.diagnose.episodes import Episode
from steadypos.diagnose.evidence import FAMILIES, FAMILY_LABEL, Family, Scored
from steadypos.diagnose.fleet import FleetContext
from steadypos.diagnose.noise import SURE_ALPHA, on_floor, threshold, typical_rate, usual_rate
from steadypos.diagnose.people import split_operator
from steadypos.diagnose.software import GroupCause, classify_groups, split_software
from steadypos.diagnose.splits import Split
from steadypos.diagnose.taxonomy import ACTIONS, CRASH_REASONS, NONE, SOFTWARE_CAUSES, Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.diagnose.wear import (
    contact_worn,
    overdue,
    read_errors,
    split_wear,
    swiped,
    swipes_disturbed,
)
from steadypos.diagnose.wording import bonuses, evidence_for, pin_misuse, wrong_methods

HOST_SIDE_WEIGHT = 0.3  # a network episode during fleet-wide trouble is mostly not this site's
SPORADIC_WEIGHT = 0.5  # a crash of a group that hits terminals about once each: background noise
DAMAGED_WEIGHT = 0.3  # a torn line fell inside the flow: the episode may be the damage's doing
MIN_STRENGTH = 0.5  # a family above the noise floor weighs at least this much
# Confidence = the cause's weight / (its weight + the runner-up's + DOUBT): DOUBT is one episode's
# worth of "something the log does not show". A runner-up within CLOSE of the cause is named;
# a verdict under UNSURE goes on the fleet's list of terminals it could not decide.
DOUBT = 1.0
CLOSE = 0.5
UNSURE = 0.5
MAX_CONFIDENCE = 0.99


@dataclass(frozen=True)
class TerminalVerdict:
    tid: str
    episodes: int
    cause: Cause
    confidence: float
    evidence: list[str]
    actions: list[str]
    runner_up: Cause | None = None
    runner_up_confidence: float | None = None
    family_counts: dict[str, float] = field(default_factory=dict)
    on_floor: bool = False  # its evidence sits in the band at a family's noise threshold

    @property
    def undecided(self) -> bool:
        """Listed as undecided: unsure (low confidence) or on the noise floor."""
        return self.episodes > 0 and (self.confidence < UNSURE or self.on_floor)


@dataclass(frozen=True)
class EpisodeVerdict:
    episode: Episode
    cause: Cause
    evidence: tuple[str, ...]

    @property
    def tid(self) -> str:
        return self.episode.tid

    @property
    def screen(self) -> str:
        return self.episode.screen

    @property
    def start(self) -> str:
        return self.episode.start

    @property
    def end(self) -> str:
        return self.episode.end

    @property
    def end_kind(self) -> str:
        return self.episode.end_kind


@dataclass
class Verdicts:
    terminals: list[TerminalVerdict]
    episodes: list[EpisodeVerdict]
    groups: dict[str, GroupCause]


@dataclass
class _Fleetwide:
    """What every terminal is judged against: the fleet, its crash groups and noise floors."""

    ctx: FleetContext
    groups: dict[str, GroupCause]
    noise: dict[str, float]
    misuse_rate: float | None  # usual rates of tallies (None: the fleet is too small to say)
    wrong_rate: float | None
    read_error_rate: float | None
    swipe_error_rate: float | None
    swipes_apart: frozenset[str]  # terminals whose swipes fail as the document's interference does

    def disturbed(self, term: TerminalRecord) -> bool:
        """The terminal's swipes fail as the document's interference does (their worsening is
        then the field's, not the reader's: wear.trends leaves them out)."""
        return term.tid in self.swipes_apart


def _score(term: TerminalRecord, ctx: FleetContext, groups: dict[str, GroupCause],
           disturbed: bool = False, worn: bool = False) -> list[Scored]:  # fmt: skip
    """Each episode's evidence and weight; `disturbed`: the terminal's swipes fail as the
    document's interference does (wear.swipes_disturbed); `worn`: its chip and contactless reads
    fail as a worn reader's do (wear.contact_worn)."""
    out = []
    link = link_shown(term.n)
    for ep, ev in zip(term.episodes, term.evidence, strict=True):
        weight, note = 1.0, ""
        if disturbed and ev.family == Family.WEAR and ev.kind == "reader" and swiped(ep):
            ev, note = replace(ev, kind="environment"), "swipe read errors, as on the rest of" \
                " this terminal's swipes while its chip and contactless reads are fine"  # fmt: skip
        elif (worn and ev.family == Family.WEAR and ev.kind in ("reader", "printer")
              and overdue(ep)):  # fmt: skip
            ev, note = replace(ev, kind="worn"), "overdue for maintenance, its reader failing" \
                " beyond the fleet's usual"  # fmt: skip
        if ev.family == Family.NETWORK and ctx.fleet_wide(ep.t1):
            weight, note = HOST_SIDE_WEIGHT, "network trouble across many merchants at that time"
        elif ev.family == Family.NETWORK and not link:
            weight, note = ALONE_WEIGHT, "a timeout alone: the link never went down, failed to" \
                                         " connect or had a weak signal"  # fmt: skip
        elif ev.family == Family.WEAR and ev.kind == "printer" and not printer_fault_read(ep):
            weight, note = ALONE_WEIGHT, "stopped at the receipt screen with no printer fault read"
        elif ev.family == Family.SOFTWARE and ev.kind == "crash":
            g = ctx.group_of(ep.exception, ep.frames)
            if g is not None and groups[g.fingerprint].sporadic:
                weight, note = SPORADIC_WEIGHT, "a sporadic crash group (about one crash per" \
                                                " terminal)"  # fmt: skip
        if ep.damaged:
            weight, note = weight * DAMAGED_WEIGHT, "a torn log line fell inside this flow"
        out.append(Scored(ep, ev, weight, note))
    return out


def _counts(scored: list[Scored], whole: bool = False) -> dict[str, float]:
    """Weighted episodes per family and per family:kind (`whole`: each episode counts one)."""
    c: dict[str, float] = {}
    for s in scored:
        if s.family:
            w = 1.0 if whole else s.weight
            c[s.family] = c.get(s.family, 0.0) + w
            if s.kind:
                key = f"{s.family}:{s.kind}"
                c[key] = c.get(key, 0.0) + w
    return c


def judge(terms: list[TerminalRecord], ctx: FleetContext) -> Verdicts:
    """Every terminal's and episode's verdict, against the whole fleet."""
    groups = classify_groups(ctx)
    reads = usual_rate((read_errors(t), t.n.card_reads) for t in terms)
    swipes = usual_rate((t.n.swipe_errors, t.n.swipe_reads) for t in terms)
    apart = frozenset(t.tid for t in terms if swipes_disturbed(t, swipes, reads))
    scored = {t.tid: _score(t, ctx, groups, t.tid in apart, contact_worn(t, reads))
              for t in terms}  # fmt: skip
    counts = {t.tid: _counts(scored[t.tid]) for t in terms}
    keys = set(FAMILIES) | {k for c in counts.values() for k in c}
    # the noise floors count whole episodes, as they happen: counts weighed down (a lone timeout,
    # a host-side outage) would spread the ordinary part's rates and move its cut with every
    # terminal, and what the fleet's ordinary terminals show is its noise, weighed or not
    whole = {t.tid: _counts(scored[t.tid], whole=True) for t in terms}
    noise = {k: typical_rate((whole[t.tid].get(k, 0.0), t.n.flows) for t in terms) for k in keys}
    fw = _Fleetwide(ctx, groups, noise, usual_rate((pin_misuse(t), t.n.flows) for t in terms),
                    usual_rate((wrong_methods(t), t.n.flows) for t in terms),
                    reads, swipes, apart)  # fmt: skip
    verdicts, episodes = [], []
    for term in terms:
        v, eps = _decide(term, scored[term.tid], counts[term.tid], fw)
        verdicts.append(v)
        episodes.extend(eps)
    return Verdicts(verdicts, episodes, _regroup(groups, episodes, ctx))


def _split(family: str, scored: list[Scored], term: TerminalRecord, fw: _Fleetwide) -> Split:
    eps = [s for s in scored if s.family == family]
    if family == Family.SOFTWARE:
        return split_software(eps, term, fw.ctx, fw.groups)
    if family == Family.WEAR:
        return split_wear(eps, term, fw.read_error_rate, fw.disturbed(term))
    if family == Family.OPERATOR:
        return split_operator(eps, term, fw.ctx, fw.noise[Family.OPERATOR])
    label = FAMILY_LABEL[family]
    return Split({label: 1.0}, {label: []})


def _strengths(term: TerminalRecord, counts: dict[str, float], scored: list[Scored],
               bonus: dict[str, list[str]], fw: _Fleetwide,
               ) -> tuple[dict[str, float], dict[str, float], set[str]]:  # fmt: skip
    """Families above the noise floor with their strength, every family's count/need, and the
    families on the floor (noise.on_floor: the verdict on them is undecided)."""
    flows = max(term.n.flows, 1)
    strength: dict[str, float] = {}
    ratio: dict[str, float] = {}
    floor: set[str] = set()
    for fam in FAMILIES:
        cnt = counts.get(fam, 0.0)
        if not cnt:
            continue
        expected = fw.noise[fam] * flows
        extra = len(bonus.get(fam, ()))
        ratio[fam] = (cnt + extra) / threshold(expected)
        # a rare kind inside a family (a watchdog reset among card errors) can stand out alone
        kinds = [(v, fw.noise[k] * flows) for k, v in counts.items() if k.startswith(fam + ":")]
        kind_pass = any(v >= threshold(e) for v, e in kinds)
        if ratio[fam] >= 1 or kind_pass:
            total = sum(s.evidence.score * s.weight for s in scored if s.family == fam)
            strength[fam] = max(MIN_STRENGTH, total - expected * total / cnt + extra)
        if on_floor(cnt + extra, expected) and not any(v >= threshold(e, SURE_ALPHA)
                                                       for v, e in kinds):  # fmt: skip
            floor.add(fam)
    return strength, ratio, floor


def _decide(term: TerminalRecord, scored: list[Scored], counts: dict[str, float],
            fw: _Fleetwide) -> tuple[TerminalVerdict, list[EpisodeVerdict]]:  # fmt: skip
    n = len(scored)
    fams = {k: v for k, v in counts.items() if ":" not in k}
    if n == 0:
        return TerminalVerdict(term.tid, 0, NONE, 1.0, ["no flash-exit in the log"], []), []
    bonus = bonuses(term, scored, fw.ctx, fw.misuse_rate, fw.wrong_rate, fw.read_error_rate,
                    fw.disturbed(term))  # fmt: skip
    strength, ratio, floor = _strengths(term, counts, scored, bonus, fw)
    splits = {fam: _split(fam, scored, term, fw) for fam in fams}
    if not strength:
        return _noise_verdict(term, n, ratio, fams, splits, floor), _episodes(scored, splits, NONE)
    ranked = sorted(strength, key=lambda f: (-strength[f], FAMILIES.index(f)))  # type: ignore
    top = ranked[0]
    label = splits[top].best
    weights: dict[Cause, float] = {}
    for fam in ranked:
        split = splits[fam]
        total = sum(split.scores.values()) or 1.0
        for cause, score in split.scores.items():
            weights[cause] = weights.get(cause, 0.0) + strength[fam] * score / total
    mine = weights.pop(label)
    runner = max(weights, key=weights.__getitem__) if weights else None
    other = weights[runner] if runner is not None else 0.0
    conf = min(MAX_CONFIDENCE, mine / (mine + other + DOUBT))
    close = runner is not None and other >= CLOSE * mine
    evidence = (evidence_for(label, term, scored, fw.ctx) + splits[top].why[label]
                + bonus.get(top, []))  # fmt: skip
    if top in floor:
        evidence.append(f"on the noise floor: {fams[top]:.0f} {top} episode(s), only just more"
                        " than the fleet's usual noise explains")  # fmt: skip
    verdict = TerminalVerdict(
        term.tid, n, label, round(conf, 2), _dedupe(evidence), list(ACTIONS[label]),
        runner if close else None,
        round(min(MAX_CONFIDENCE, other / (mine + other + DOUBT)), 2) if close else None, fams,
        top in floor,
    )  # fmt: skip
    return verdict, _episodes(scored, splits, label)


def _noise_verdict(term: TerminalRecord, n: int, ratio: dict[str, float], fams: dict[str, float],
                   splits: dict[str, Split], floor: set[str]) -> TerminalVerdict:  # fmt: skip
    """No family above the noise floor: `none`, as sure as the episodes are few; undecided when
    a family is on the floor (unusual for noise, not enough for a cause)."""
    top = max(ratio.values(), default=0.0)
    conf = round(max(0.3, min(0.95, 1.0 - 0.6 * top)), 2)
    say = [f"{n} flash-exit{'s' if n != 1 else ''}, no more than the fleet's usual noise"]
    runner = None
    if ratio:
        fam = max(ratio, key=ratio.__getitem__)
        say.append(f"most look like {fam}: {fams[fam]:.0f}")
        on = max(floor, key=lambda f: ratio.get(f, 0.0), default=None)  # fam, when it is on it
        runner = splits[fam].best if top >= CLOSE or fam in floor else \
            splits[on].best if on in splits else None
        if on is not None:  # undecided: say which family sits on the floor
            say.append(f"on the noise floor: {fams.get(on, 0.0):.0f} {on} episode(s), more than"
                       " noise usually shows, fewer than a cause needs")  # fmt: skip
    return TerminalVerdict(term.tid, n, NONE, conf, say, [], runner,
                           round(1 - conf, 2) if runner else None, fams, bool(floor))  # fmt: skip


def _episodes(scored: list[Scored], splits: dict[str, Split],
              label: Cause) -> list[EpisodeVerdict]:  # fmt: skip
    """Each episode's cause: its family's (split on this terminal); with no evidence of its own,
    the terminal's."""
    out = []
    for s in scored:
        said = s.evidence.said + ((s.note,) if s.note else ())
        if s.family:
            out.append(EpisodeVerdict(s.episode, splits[s.family].best, said))
        else:
            out.append(EpisodeVerdict(s.episode, label, said or (
                "no evidence in the log around this episode",)))  # fmt: skip
    return out


def _regroup(groups: dict[str, GroupCause], episodes: list[EpisodeVerdict],
             ctx: FleetContext) -> dict[str, GroupCause]:  # fmt: skip
    """A crash group whose crashes the readings explain (heat, memory, printer...) takes that
    cause in the report instead of a software one."""
    causes: dict[str, Counter] = {}
    for v in episodes:
        ep = v.episode
        if ep.end_kind in CRASH_REASONS:
            g = ctx.group_of(ep.exception, ep.frames)
            if g is not None:
                causes.setdefault(g.fingerprint, Counter())[v.cause] += 1
    out = dict(groups)
    for fp, counter in causes.items():
        top, k = counter.most_common(1)[0]
        total = sum(counter.values())
        if top not in SOFTWARE_CAUSES and top != NONE and k > total / 2:
            out[fp] = GroupCause(top, (f"{k} of {total} of its crashes in flows were {top}",),
                                 groups[fp].sporadic)  # fmt: skip
    return out


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
