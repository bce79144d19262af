"""The operator family (wrong PIN, PIN timeouts, wrong method, abandoned flows) split into
operator_error and training_gap: were the operators behind the errors trained, and did the errors
come right after a new app version (a new feature)?"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from steadypos.diagnose.episodes import Episode
from steadypos.diagnose.evidence import Scored
from steadypos.diagnose.fleet import FleetContext
from steadypos.diagnose.noise import threshold
from steadypos.diagnose.records import VersionChange
from steadypos.diagnose.splits import Split, SplitRule, weigh
from steadypos.diagnose.taxonomy import RC_WRONG_PIN, Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.eventlog import CardError, PinOutcome, format_ts

PEOPLE_CAUSES = (Cause.OPERATOR_ERROR, Cause.TRAINING_GAP)
# "right after a new feature/version": at least this many errors after the change, at this many
# times the rate before it, and more than that rate explains (noise.threshold). The rate before
# is the terminal's own, drawn towards the fleet's usual rate of operator episodes as if the
# fleet had lent it PRIOR_FLOWS flows: a change early in the log has few flows before it.
AFTER_MIN_EPISODES, AFTER_FACTOR, PRIOR_FLOWS = 2, 3.0, 20
# "one operator stands out": of two or more operators, one made this share of the errors, more
# than the others' rate explains (Poisson, STANDOUT_ALPHA)
STANDOUT_SHARE, STANDOUT_ALPHA = 2 / 3, 0.05
SHOWN_OPERATORS = 2  # operators named in the evidence


def op_kind(e: Episode) -> str:
    if RC_WRONG_PIN in e.rcs:
        return "wrong PIN"
    if PinOutcome.TIMEOUT in e.pins:
        return "PIN timeout"
    if any(c.error == CardError.WRONG_METHOD for c in e.card_errors):
        return "wrong method"
    return "abandoned"


@dataclass
class PeopleFacts:
    term: TerminalRecord
    n: int
    trained: int  # episodes of operators with a training record by then
    untrained: int  # of operators without one
    unknown: int  # with nobody logged in
    no_record: bool  # the fleet keeps training records; this terminal has none
    after: int  # episodes after a version change that made them rise (0 when it did not)
    after_words: str
    standout: str  # the operator who made most of the errors, when one stands out ("" if not)
    spread: int  # operators with errors when none stands out (0 when one does or only one)
    trained_words: str
    untrained_words: str


PEOPLE_RULES: tuple[SplitRule[PeopleFacts], ...] = (
    # who made the errors: operators with or without a training record by then
    SplitRule(Cause.TRAINING_GAP, 3.0, lambda f: f.untrained / f.n,
              lambda f: f.untrained_words),
    SplitRule(Cause.OPERATOR_ERROR, 2.0, lambda f: f.trained / f.n, lambda f: f.trained_words),
    # misuse: one operator stands out; a gap in training: errors right after a new version,
    # spread over the operators rather than one
    SplitRule(Cause.OPERATOR_ERROR, 1.5, lambda f: float(bool(f.standout)),
              lambda f: f"operator {f.standout} stands out (most of the errors)"),
    SplitRule(Cause.TRAINING_GAP, 2.5, lambda f: f.after / f.n, lambda f: f.after_words),
    SplitRule(Cause.TRAINING_GAP, 1.0, lambda f: float(f.spread >= 2),
              lambda f: f"errors spread over {f.spread} operators, none stands out"),
    # nobody logged in: misuse at the counter, unless the terminal keeps no training record at
    # all where the fleet does (the document counts that absence)
    SplitRule(Cause.OPERATOR_ERROR, 1.0, lambda f: f.unknown / f.n,
              lambda f: f"{f.unknown} of them with no operator logged in"),
    SplitRule(Cause.TRAINING_GAP, 1.5, lambda f: f.unknown / f.n * f.no_record,
              lambda f: "no training record on this terminal (the fleet keeps them)"),
)  # fmt: skip


def _operator_lines(eps: list[Episode], term: TerminalRecord, trained: bool) -> str:
    by_op = Counter(e.operator for e in eps if e.trained is trained)
    lines = []
    for op, k in by_op.most_common(SHOWN_OPERATORS):
        kinds = Counter(op_kind(e) for e in eps if e.operator == op)
        detail = ", ".join(f"{name} x{c}" for name, c in kinds.most_common())
        row = term.ops.get(op or "")
        flows = f" of {row.flows} flows" if row else ""
        has = "has a training record" if trained else "has no training record"
        lines.append(f"operator {op}: {k}{flows} broke ({detail}); operator {op} {has}")
    return "; ".join(lines)


def _after_change(eps: list[Episode], term: TerminalRecord, usual: float) -> tuple[int, str]:
    """Errors that rose right after the app version changed on this terminal."""
    best: tuple[int, str] = (0, "")
    for change in term.versions:
        got = _rise(eps, term, change, usual)
        if got[0] > best[0]:
            best = got
    return best


def _rise(eps: list[Episode], term: TerminalRecord, change: VersionChange,
          usual: float) -> tuple[int, str]:  # fmt: skip
    flows_before, flows_after = change.flows, term.n.flows - change.flows
    if flows_after <= 0:
        return 0, ""
    after = sum(1 for e in eps if e.t1 >= change.t)
    before = len(eps) - after
    rate_before = (before + usual * PRIOR_FLOWS) / (flows_before + PRIOR_FLOWS)
    rate_after = after / flows_after
    if (after < max(AFTER_MIN_EPISODES, threshold(rate_before * flows_after))
            or rate_after < AFTER_FACTOR * rate_before):
        return 0, ""
    return after, (f"operator errors rose after app_version {change.new} was installed on"
                   f" {format_ts(change.t)[:10]}: {before} in {flows_before} flows before,"
                   f" {after} in {flows_after} after")  # fmt: skip


def _who(eps: list[Episode], term: TerminalRecord) -> tuple[str, int]:
    """(the operator who stands out or "", how many operators share the errors otherwise).

    One stands out when they made most of the errors and more than the others' rate explains on
    their flows (Poisson, STANDOUT_ALPHA): two of three errors are not an operator apart."""
    by_op = Counter(e.operator for e in eps if e.operator is not None)
    working = sum(1 for row in term.ops.values() if row.flows)
    if working < 2 or not by_op:
        return "", 0
    op, k = by_op.most_common(1)[0]
    flows = term.ops[op].flows if op in term.ops else 0
    others = sum(row.flows for name, row in term.ops.items() if name != op)
    rate = (sum(by_op.values()) - k + 0.5) / (others + 1)
    if (k >= STANDOUT_SHARE * sum(by_op.values()) and k >= 2
            and k >= threshold(rate * flows, STANDOUT_ALPHA)):  # fmt: skip
        return op, 0
    return "", len(by_op)


def split_operator(scored: list[Scored], term: TerminalRecord, ctx: FleetContext,
                   usual: float) -> Split:  # fmt: skip
    """`usual`: the fleet's operator episodes per flow (its noise floor)."""
    eps = [s.episode for s in scored]
    after, after_words = _after_change(eps, term, usual)
    standout, spread = _who(eps, term)
    facts = PeopleFacts(
        term, max(1, len(eps)), sum(1 for e in eps if e.trained is True),
        sum(1 for e in eps if e.trained is False), sum(1 for e in eps if e.trained is None),
        ctx.keeps_training and not term.trained, after, after_words, standout, spread,
        _operator_lines(eps, term, True), _operator_lines(eps, term, False),
    )  # fmt: skip
    return weigh(PEOPLE_CAUSES, PEOPLE_RULES, facts)
