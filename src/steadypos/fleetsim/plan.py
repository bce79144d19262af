"""Who is who in a simulated fleet: merchants, models, versions, operators and each terminal's
cause, all drawn from one seed before any event is written."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta

from steadypos.diagnose.taxonomy import LABELS, NONE
from steadypos.fleetsim.catalog import (
    BAD_COMBO,
    CURRENT_PARAMS,
    CURRENT_VERSION,
    MODELS,
    OLD_PARAMS,
    OUTDATED_VERSIONS,
    PREVIOUS_VERSION,
    START,
)

FAULTY_SHARE = 0.6  # of the terminals, dealt evenly over the 13 causes
Window = tuple[float, float]  # (start, end) epoch seconds


@dataclass
class Plan:
    """One terminal's make-up and fault."""

    tid: str
    mid: str
    label: str
    brand: str
    model: str
    firmware: str
    mem_total: int
    version: str
    params: str
    last_maintenance: str | None
    operators: list[str]
    trained: set[str]
    careless: set[str]
    rate: float  # flows per hour at the base of the daily profile
    ambient: float
    heat_k: float
    signal: float
    swipe_share: float
    install_day: int = -1  # bad release installed on this day
    params_day: int = -1  # wrong parameters applied on this day (-1: from before the log)
    new_params: str = ""
    dead_battery: bool = False  # hardware_power: a battery that drains through the day
    fault_episodes: int = 0


@dataclass
class Fleet:
    plans: list[Plan]
    days: int
    outages: dict[str, list[Window]]  # mid -> network outage windows
    host_slow: Window
    rollout_day: int


def day_t(day: int) -> float:
    """Epoch seconds of midnight UTC of the window's day `day`."""
    return (START + timedelta(days=day)).timestamp()


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def _merchants(rng: random.Random, terminals: int) -> list[tuple[str, list[str]]]:
    """Merchants of 1..6 terminals each, in id order."""
    sizes: list[int] = []
    left = terminals
    while left > 0:
        size = min(left, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6)))
        sizes.append(size)
        left -= size
    tids = [f"T{n:05d}" for n in range(1, terminals + 1)]
    merchants: list[tuple[str, list[str]]] = []
    pos = 0
    for m, size in enumerate(sizes):
        merchants.append((f"M{m + 1:04d}", tids[pos : pos + size]))
        pos += size
    return merchants


def _deal(rng: random.Random, merchants: list[tuple[str, list[str]]],
          terminals: int) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """Each terminal's label, and the merchants whose network is bad (whole merchants)."""
    labels: dict[str, str] = {}
    faulty = int(round(terminals * FAULTY_SHARE))
    per_label = max(1, faulty // len(LABELS)) if terminals >= len(LABELS) else 0
    net_mids: list[str] = []
    order = sorted(merchants, key=lambda m: (len(m[1]) < 2, rng.random()))
    got = 0
    for mid, members in order:
        if got >= per_label:
            break
        net_mids.append(mid)
        for tid in members:
            labels[tid] = "network"
        got += len(members)
    rest = [t for _, members in merchants for t in members if t not in labels]
    rng.shuffle(rest)
    for label in LABELS:
        if label == "network":
            continue
        for _ in range(per_label):
            if rest:
                labels[rest.pop()] = label
    for tid in rest:
        labels[tid] = NONE
    return labels, net_mids


def _make_up(trng: random.Random, label: str) -> tuple[str, str, str, int, str, str, str | None]:
    """(brand, model, firmware, mem_total, app version, params version, last maintenance)."""
    if label == "compatibility":
        brand, model, firmware, mem_total = BAD_COMBO
    else:
        brand, model, fws, mem_total = trng.choice(MODELS)
        firmware = trng.choice(fws)
    version = CURRENT_VERSION if trng.random() < 0.82 else PREVIOUS_VERSION
    if label == "outdated_software":
        version = trng.choice(OUTDATED_VERSIONS)
    elif label in ("compatibility", "software_defect"):
        version = CURRENT_VERSION
    params = CURRENT_PARAMS if trng.random() < 0.9 else OLD_PARAMS
    age = trng.randint(10, 170) if trng.random() < 0.88 else trng.randint(181, 400)
    if label == "maintenance_overdue":
        age = trng.randint(200, 720)
    elif label in ("environment_interference", "hardware_printer"):
        age = trng.randint(10, 170)
    last_maint: str | None = (START.date() - timedelta(days=age)).isoformat()
    if trng.random() < 0.03 and label != "maintenance_overdue":
        last_maint = None
    return brand, model, firmware, mem_total, version, params, last_maint


def _staff(trng: random.Random, tid: str, label: str) -> tuple[list[str], set[str], set[str]]:
    """(operators, trained, careless): the careless one is trained for operator_error and
    untrained (sometimes with a new hire) for training_gap."""
    n_ops = trng.choice((1, 2, 2, 3))
    operators = [f"op-{tid[1:]}-{k}" for k in range(1, n_ops + 1)]
    trained = {op for op in operators if trng.random() < 0.88}
    careless: set[str] = set()
    if label == "operator_error":
        bad = trng.choice(operators)
        careless = {bad}
        trained.add(bad)
    elif label == "training_gap":
        bad = operators[0]
        careless = {bad}
        trained.discard(bad)
        if trng.random() < 0.4:
            operators.append(f"op-{tid[1:]}-new")
            careless.add(operators[-1])
    return operators, trained, careless


def _plan(seed: int, tid: str, mid: str, label: str, signal: float, days: int,
          rollout_day: int) -> Plan:  # fmt: skip
    trng = random.Random(f"plan:{seed}:{tid}")
    brand, model, firmware, mem_total, version, params, last_maint = _make_up(trng, label)
    operators, trained, careless = _staff(trng, tid, label)
    hot = label == "hardware_overheat"
    plan = Plan(
        tid=tid, mid=mid, label=label, brand=brand, model=model, firmware=firmware,
        mem_total=mem_total, version=version, params=params, last_maintenance=last_maint,
        operators=operators, trained=trained, careless=careless, rate=trng.uniform(1.5, 6.0),
        ambient=trng.uniform(50, 58) if hot else trng.uniform(24, 36),
        heat_k=trng.uniform(2.6, 3.6) if hot else trng.uniform(0.3, 0.8),
        signal=signal + trng.uniform(-3, 3), swipe_share=trng.uniform(0.1, 0.3),
    )  # fmt: skip
    if label == "software_defect":
        plan.install_day = min(days - 1, rollout_day + trng.choice((0, 0, 1, 1, 2)))
    if label == "parameter_mismatch":
        if trng.random() < 0.6 and days > 1:
            plan.params_day = trng.randint(0, max(0, days // 2))
            plan.new_params = "P20261118"
        else:
            plan.params = "P20261020"
    if label == "hardware_power":
        plan.dead_battery = trng.random() < 0.35
    return plan


def plan_fleet(terminals: int, days: int, seed: int) -> Fleet:
    """Decide who is who: merchants, models, versions, operators and each terminal's cause."""
    rng = random.Random(f"fleet:{seed}")
    merchants = _merchants(rng, terminals)
    labels, net_mids = _deal(rng, merchants, terminals)
    rollout_day = rng.randint(0, max(0, days // 3))
    mid_signal = {mid: rng.uniform(-90, -62) for mid, _ in merchants}
    for mid in net_mids:
        mid_signal[mid] = rng.uniform(-109, -97)
    plans = [
        _plan(seed, tid, mid, labels[tid], mid_signal[mid], days, rollout_day)
        for mid, members in merchants
        for tid in members
    ]
    outages: dict[str, list[Window]] = {}
    for mid in net_mids:
        wins = []
        for day in range(days):
            for _ in range(poisson(rng, 1.6)):
                t0 = day_t(day) + rng.uniform(1.5, 13.0) * 3600
                wins.append((t0, t0 + rng.uniform(8, 40) * 60))
        outages[mid] = sorted(wins)
    slow_day = rng.randrange(days)
    t0 = day_t(slow_day) + rng.uniform(2, 12) * 3600
    return Fleet(plans, days, outages, (t0, t0 + 600), rollout_day)
