"""simulate-fleet's ground truth: a read error or a jam that every terminal has is no flash-exit
of a maintenance or interference terminal's cause; the ones its cause adds are."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from steadypos.eventlog import CardMethod
from steadypos.fleetsim.hazards import USUAL_JAMS, USUAL_READ_ERRORS, print_receipt, read_error
from steadypos.fleetsim.terminal import Aborted, TerminalSim


class Draws:
    """An rng whose random() gives the draws set (choice picks the first)."""

    def __init__(self, *draws: float) -> None:
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)

    def choice(self, seq):  # noqa: ANN001, ANN201 - as random.Random.choice
        return seq[0]

    def uniform(self, a: float, b: float) -> float:
        return a


def _sim(label: str, *draws: float) -> TerminalSim:
    sim = SimpleNamespace(p=SimpleNamespace(label=label, fault_episodes=0), rng=Draws(*draws),
                          interference=[])  # fmt: skip
    sim.fault = lambda: setattr(sim.p, "fault_episodes", sim.p.fault_episodes + 1)
    sim.health = sim.go_down = sim.screen = lambda *a, **k: None
    return sim  # type: ignore[return-value]


@pytest.mark.parametrize(("label", "method", "draw", "caused"), [
    ("maintenance_overdue", CardMethod.CHIP, USUAL_READ_ERRORS / 2, False),  # any reader's
    ("maintenance_overdue", CardMethod.CHIP, USUAL_READ_ERRORS * 2, True),  # the wear's
    ("maintenance_overdue", CardMethod.CONTACTLESS, 0.5, None),  # no error at all
    ("environment_interference", CardMethod.CONTACTLESS, USUAL_READ_ERRORS / 2, False),
    ("none", CardMethod.SWIPE, USUAL_READ_ERRORS / 2, False),
])  # fmt: skip
def test_a_read_error_is_the_causes_only_beyond_the_usual_rate(label, method, draw, caused) -> None:
    err, by_cause = read_error(_sim(label, draw), 0.0, method, day=2)
    assert (err is not None, by_cause) == (caused is not None, bool(caused))


@pytest.mark.parametrize(("draw", "faults"), [(USUAL_JAMS / 2, 0), (USUAL_JAMS * 2, 1)])
def test_a_usual_jam_on_an_overdue_terminal_is_not_its_fault(draw, faults) -> None:
    sim = _sim("maintenance_overdue", draw, 0.9)  # the jam's draw, then no crash
    with pytest.raises(Aborted):
        print_receipt(sim, 0.0, day=1)
    assert sim.p.fault_episodes == faults
