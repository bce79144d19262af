"""Splitting a family into causes with terminal- and fleet-level facts, as tables of rules.

A family's module (software.py, wear.py, people.py) gathers the facts of one terminal into a
small record, and a table of `SplitRule`s weighs them: each row names the cause it supports, its
weight, how strongly the facts show it (0 = not at all, 1 = as the document states it) and the
words that say why. The weights live in those tables only, beside their words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from steadypos.diagnose.taxonomy import Cause

F = TypeVar("F")
SAY_FROM = 0.5  # a rule's words go into the evidence when its strength reaches this


@dataclass(frozen=True)
class SplitRule(Generic[F]):
    cause: Cause
    weight: float
    test: Callable[[F], float]
    say: Callable[[F], str | None]


@dataclass(frozen=True)
class Split:
    """Scores of the causes a family splits into, and the words for each."""

    scores: dict[Cause, float]
    why: dict[Cause, list[str]]

    @property
    def ranked(self) -> list[Cause]:
        return sorted(self.scores, key=lambda c: -self.scores[c])

    @property
    def best(self) -> Cause:
        return self.ranked[0]

    @property
    def share(self) -> float:
        """The best cause's share of the family's evidence (how sure the split is)."""
        total = sum(max(0.0, v) for v in self.scores.values())
        return self.scores[self.best] / total if total > 0 else 1.0 / len(self.scores)


def weigh(causes: tuple[Cause, ...], rules: tuple[SplitRule[F], ...], facts: F) -> Split:
    """Apply a family's table to one terminal's facts (causes listed first win ties)."""
    scores = dict.fromkeys(causes, 0.0)
    why: dict[Cause, list[str]] = {c: [] for c in causes}
    for rule in rules:
        strength = rule.test(facts)
        if not strength:
            continue
        scores[rule.cause] += rule.weight * strength
        if strength >= SAY_FROM:
            words = rule.say(facts)
            if words:
                why[rule.cause].append(words)
    order = {c: i for i, c in enumerate(causes)}
    ranked = dict(sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]])))
    return Split(ranked, why)
