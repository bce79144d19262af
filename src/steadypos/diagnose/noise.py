"""The fleet's noise floor: how many episodes of a family an ordinary terminal shows per flow,
and how many a terminal needs before they are a cause and not noise (Poisson, one-sided)."""

from __future__ import annotations

import math
from collections.abc import Iterable

# The ordinary part of the fleet: terminals with at least MIN_FLOWS flows whose counts the part's
# own pooled rate explains (they stay under its threshold at ORDINARY_ALPHA). It is found from the
# whole fleet's rate down, dropping the terminals the rate does not explain until none is left to
# drop. Its rate (episodes over flows) is the noise floor: a few unrelated terminals change it by
# their share of the flows at most. (A fixed share of the fleet by rate, the lower 80 %, was used
# before: it cut the Poisson tail of healthy terminals too and sat 1.5-2x under their rate.)
MIN_FLOWS = 10
ORDINARY_ALPHA = 0.05
# Fewer busy terminals than this have no ordinary part to measure (one terminal's log diagnosed
# alone would be its own yardstick): the noise is then taken as one episode of a family in 2000
# flows (about one flash-exit in 250 flows over the 8 families), an assumption, not a measurement.
MIN_TERMINALS = 20
NOISE_PRIOR = 1 / 2000
# Half an episode is added to the ordinary part's count (Jeffreys' prior for a Poisson rate): a
# fleet that showed none is not taken to never show one; the more flows it has, the less it adds.
PSEUDO_EPISODES = 0.5
ALPHA = 0.002  # how unlikely under noise a count must be to count as a cause
# The undecided band at that threshold: a count that noise reaches with probability under
# BAND_ALPHA (unusual) but not under ALPHA (a `none` that may be a faint fault), or under ALPHA
# but not under SURE_ALPHA (a cause that may be noise). Verdicts in it keep their cause and are
# listed as undecided: a baseline a grid step up or down may move them across the threshold.
BAND_ALPHA, SURE_ALPHA = 0.05, ALPHA / 10
# A baseline is kept on a coarse grid, GRID_STEPS per factor of ten (the R5 series: 1, 1.6, 2.5,
# 4, 6.3): a few terminals more or less move the pooled rate by their share of the flows, which
# seldom reaches the next step, so the verdicts judged against it stay as they were.
GRID_STEPS = 5


def typical_rate(rows: Iterable[tuple[float, int]]) -> float:
    """Pooled episodes per flow of the fleet's ordinary part, from (episodes, flows) rows: the
    busy terminals whose counts that rate itself explains (under `threshold`), found from the
    whole fleet's rate down, dropping at each step the terminals it does not explain."""
    rate = usual_rate(rows)
    return NOISE_PRIOR if rate is None else rate


def usual_rate(rows: Iterable[tuple[float, int]]) -> float | None:
    """`typical_rate`, or None for a fleet too small to measure it (a tally's usual rate, such
    as read errors per read, has no prior: a fact measured against it is then not claimed)."""
    busy = [(c, f) for c, f in rows if f >= MIN_FLOWS]
    if len(busy) < MIN_TERMINALS:
        return None
    kept = busy
    while True:
        rate = (sum(c for c, _ in kept) + PSEUDO_EPISODES) / sum(f for _, f in kept)
        left = [(c, f) for c, f in kept if c < threshold(rate * f, ORDINARY_ALPHA)]
        if len(left) == len(kept) or not left:
            return on_grid(rate)
        kept = left


def on_floor(count: float, expected: float) -> bool:
    """`count` lies in the undecided band at the threshold of noise at mean `expected`."""
    return threshold(expected, BAND_ALPHA) <= count < threshold(expected, SURE_ALPHA)


def on_grid(rate: float) -> float:
    """`rate` rounded to the nearest step of the grid (geometric: GRID_STEPS per decade)."""
    if rate <= 0:
        return rate
    return 10 ** (round(math.log10(rate) * GRID_STEPS) / GRID_STEPS)


def threshold(expected: float, alpha: float = ALPHA) -> int:
    """Fewest episodes that noise at mean `expected` reaches with probability < alpha (>= 1)."""
    n = 1
    term = math.exp(-expected)  # P(X = 0)
    cdf = term
    while 1.0 - cdf >= alpha and n < 10_000:
        term *= expected / n
        cdf += term  # P(X <= n)
        n += 1
    return n
