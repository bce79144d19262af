"""Operators of a terminal: who they are, what they were trained on, when they work, how they slip.

Errors depend on the person (a careless trained operator, an untrained new hire who learns with
every sale), on the queue in front of them (more slips when three customers wait) and on the
feature at hand (an untrained new QR mode).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from .catalog import COURSES, NEW_FEATURE_COURSE


@dataclass
class Operator:
    oid: str
    courses: tuple[str, ...]
    pace: float  # multiplies the time each screen takes
    slip: float  # chance of the harmless slips everybody makes (a chip card swiped first)
    fault: float = 0.0  # propensity for the slips that break a flow
    learn_tau: float | None = None  # sales after which a new hire's faults have mostly faded
    first_day: int = 0
    off_days: frozenset[int] = frozenset()
    trained_on_day: int | None = None  # a training session inside the window
    served: int = field(default=0, compare=False)

    def rates(self, pressure: int, day: int, hour: float) -> dict[str, float]:
        """Chances for this flow, given the queue and the operator's experience so far."""
        e = self.fault
        if e and self.learn_tau:
            e *= 0.3 + 0.7 * math.exp(-self.served / self.learn_tau)
        if e and self.trained_on_day is not None and (day, hour) >= (self.trained_on_day, 15.0):
            e *= 0.25
        rush = 1.0 + 0.35 * min(pressure, 4)
        e = min(1.0, e * rush)
        return {
            "wrong_method": min(0.8, self.slip * rush + 0.35 * e),
            "abandon": 0.09 * e,
            "pin_flash": 0.05 * e,
            "pin_cancel": 0.006 + 0.03 * e,
            "wrong_pin": 1.0 + 6.0 * e,
        }


@dataclass
class Roster:
    ops: list[Operator]
    slots: list[tuple[float, float, int]]  # (start hour, end hour, role)
    manager: Operator | None = None
    must_work: str | None = None  # the operator every day's sessions include


def _courses(rng: random.Random) -> tuple[str, ...]:
    got = ["basic_sale"] + [c for c in COURSES[1:-1] if rng.random() < 0.6]
    if rng.random() < 0.55:
        got.append(NEW_FEATURE_COURSE)
    return tuple(got)


def _slots(staffing: str, open_h: float, close_h: float, two_people: bool):
    mid = round(open_h + close_h) / 2
    if staffing == "split":
        return [(open_h, 14.5, 0), (16.5, close_h, 1)], 2
    if staffing == "two_shift":
        return [(open_h, mid, 0), (mid, close_h, 1)], 3
    if staffing == "lanes":
        return [(open_h, open_h + 3.5, 0), (open_h + 3.5, open_h + 4.0, 2),
                (open_h + 4.0, mid, 0), (mid, mid + 3.0, 1), (mid + 3.0, mid + 3.5, 2),
                (mid + 3.5, close_h, 1)], 3
    if staffing == "single":
        if two_people:
            return [(open_h, 13.0, 0), (13.5, close_h, 1)], 2
        return [(open_h, 12.5, 0), (13.25, close_h, 0)], 2
    if two_people:
        return [(open_h, 9.5, 0), (9.5, close_h, 1)], 2
    return [(open_h, close_h, 0)], 1


def build_roster(rng: random.Random, next_id, staffing: str, open_h: float, close_h: float,
                 label: str, variant: str, intensity: float, days: int) -> Roster:
    """The operators of one terminal, shaped by the terminal's fault (if it is about people)."""
    people = label in ("operator_error", "training_gap") or rng.random() < 0.25
    slots, n = _slots(staffing, open_h, close_h, people)
    n = max(n, 2) if people else n
    n += rng.random() < 0.3
    ops = [Operator(next_id(), _courses(rng), rng.uniform(0.75, 1.4), rng.uniform(0.005, 0.035))
           for _ in range(n)]
    for op in ops[1:]:
        if days > 2 and rng.random() < 0.35:
            op.off_days = frozenset({rng.randrange(days)})
    if label not in ("operator_error", "training_gap") and rng.random() < 0.12:
        ops[-1].courses = ()  # an untrained operator who happens to do fine
    roster = Roster(ops, slots)
    if label == "operator_error":
        star = ops[0]
        star.fault = 0.25 + 0.75 * intensity
        star.courses = tuple(COURSES)
        star.off_days = frozenset()
        roster.must_work = star.oid
    elif label == "training_gap" and variant == "new_hire":
        for k, op in enumerate(ops[: 1 + (rng.random() < 0.3)]):
            op.courses = ()
            op.fault = 0.3 + 0.7 * intensity
            op.learn_tau = rng.uniform(60, 220)
            op.first_day = 0 if days < 2 or k else rng.randrange(min(days - 1, 2))
            op.off_days = frozenset()
            if days >= 3 and rng.random() < 0.25:
                op.trained_on_day = days - 1
            roster.must_work = roster.must_work or op.oid
    elif label == "training_gap":
        for op in ops:
            op.courses = tuple(c for c in op.courses if c != NEW_FEATURE_COURSE)
    if staffing in ("lanes", "two_shift", "split") and rng.random() < 0.7:
        roster.manager = Operator(next_id(), tuple(COURSES), 0.9, 0.005)
    return roster


def day_sessions(roster: Roster, day: int,
                 rng: random.Random) -> list[tuple[Operator, float, float]]:
    """Who is logged in when on one day: (operator, login hour, logout hour)."""
    workers = [op for op in roster.ops if op.first_day <= day and day not in op.off_days]
    workers = workers or roster.ops[:1]
    out = []
    for start, end, role in roster.slots:
        op = workers[(role + day) % len(workers)]
        out.append([op, start + rng.uniform(-0.05, 0.12), end + rng.uniform(-0.1, 0.05)])
    if roster.must_work:
        must = next(op for op in roster.ops if op.oid == roster.must_work)
        if must.first_day <= day and all(s[0] is not must for s in out):
            out[day % len(out)][0] = must
    for a, b in zip(out, out[1:], strict=False):
        b[1] = max(b[1], a[2] + 0.01)
    return [(op, s, e) for op, s, e in out if e - s > 0.1]
