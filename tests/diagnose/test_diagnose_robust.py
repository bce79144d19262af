"""A terminal's verdict is its own log's plus fleet baselines a few unrelated terminals cannot
move: adding or removing other terminals' logs changes no verdict, and a terminal diagnosed alone
gets the cause it gets inside its fleet."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from steadypos.diagnose.engine import diagnose, judge_fleet, track
from steadypos.diagnose.noise import (
    NOISE_PRIOR,
    on_floor,
    on_grid,
    threshold,
    typical_rate,
    usual_rate,
)
from steadypos.diagnose.taxonomy import Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.fleetsim.plan import poisson
from steadypos.fleetsim.writer import write_fleet

# Causes a terminal's own log shows without the fleet (the software causes are read from how a
# crash spreads over versions and models: a fleet-level fact, see the document).
OWN_LOG_CAUSES = {
    Cause.HARDWARE_MEMORY, Cause.HARDWARE_OVERHEAT, Cause.HARDWARE_POWER,
    Cause.HARDWARE_PRINTER, Cause.NETWORK, Cause.ENVIRONMENT_INTERFERENCE,
}  # fmt: skip


def _fleet(tmp: Path, name: str, terminals: int, seed: int, prefix: str = "T") -> Path:
    buf = io.StringIO()
    write_fleet(terminals, 2, seed, buf)
    path = tmp / f"{name}.jsonl"
    text = buf.getvalue()
    if prefix != "T":  # other terminals at other merchants
        text = text.replace('"tid":"T', f'"tid":"{prefix}').replace('"mid":"M', f'"mid":"{prefix}M')
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("robust")
    return _fleet(tmp, "main", 80, 23), _fleet(tmp, "others", 6, 22, prefix="U")


def _causes(terms: list[TerminalRecord]) -> dict[str, str]:
    return {r.tid: r.cause for r in judge_fleet(track([])[0], terms).results}


def test_adding_and_removing_unrelated_terminals_changes_no_verdict(logs) -> None:
    _no_verdict_moves(*logs)


def test_unrelated_terminals_on_the_seed_21_fleet(tmp_path: Path) -> None:
    # T00056 (one PIN timeout, one network episode) sat on its operator family's threshold while
    # the noise floor trimmed the fleet's upper 20 % by rate (0.0004 operator episodes a flow
    # against the healthy terminals' ~0.003): now the floor is the rate of the terminals it
    # explains, and T00056 is `none` with or without the strangers
    _no_verdict_moves(_fleet(tmp_path, "main", 80, 21), _fleet(tmp_path, "others", 6, 22, "U"))


def _no_verdict_moves(main: Path, others: Path) -> None:
    base = diagnose([str(main)]).labels()
    assert len(base) == 80 and len(set(base.values())) >= 8
    stats, terms = track([str(main), str(others)])
    strangers = [t for t in terms if t.tid.startswith("U")]
    mine = [t for t in terms if not t.tid.startswith("U")]
    # the two files read together: the strangers' logs move none of the fleet's verdicts
    together = diagnose([str(main), str(others)]).labels()
    assert {k: v for k, v in together.items() if not k.startswith("U")} == base
    for extra in (strangers[:2], strangers[2:4], strangers):
        got = _causes(mine + extra)
        assert {k: v for k, v in got.items() if not k.startswith("U")} == base, extra
    # removing two terminals (a healthy one and a faulty one) moves no other verdict
    healthy = next(t for t in mine if base[t.tid] == "none")
    faulty = next(t for t in mine if base[t.tid] not in ("none",) and t is not healthy)
    rest = [t for t in mine if t not in (healthy, faulty)]
    assert _causes(rest) == {t.tid: base[t.tid] for t in rest}


def test_a_terminal_alone_gets_the_cause_it_gets_in_its_fleet(logs) -> None:
    main, _ = logs
    _, terms = track([str(main)])
    inside = _causes(terms)
    tried = 0
    for term in terms:
        if inside[term.tid] in OWN_LOG_CAUSES:
            tried += 1
            assert _causes([term])[term.tid] == inside[term.tid], term.tid
    assert tried >= 6


def test_the_noise_floor_is_the_healthy_terminals_rate() -> None:
    # 200 healthy terminals at 0.003 episodes a flow (a Poisson tail of ones, twos and threes)
    # and 20 faulty ones at ten times that: the floor is the healthy rate (on its grid), not the
    # lower share of the fleet by rate, which cuts the healthy tail and lands under it
    rng = random.Random(7)
    rows = [(float(poisson(rng, 0.003 * 120)), 120) for _ in range(200)]
    rows += [(float(poisson(rng, 0.03 * 120)), 120) for _ in range(20)]
    assert typical_rate(rows) == on_grid(0.003)
    # a fleet too small to measure: episode floors take the prior, a tally has no usual rate
    assert typical_rate(rows[:5]) == NOISE_PRIOR
    assert usual_rate(rows[:5]) is None


def test_counts_at_a_threshold_are_undecided_not_flipped() -> None:
    # noise at 0.4 episodes: 3 and 4 are unusual (p < 5 %) but 4 is the cause threshold
    # (p < 0.2 %) and only 5 is sure (p < 0.02 %): 3 and 4 sit in the undecided band
    assert threshold(0.4) == 4
    assert [n for n in range(8) if on_floor(n, 0.4)] == [3, 4]
