"""The fleet: merchants with their terminals, each with a device, app, parameters, staff and fate.

Labels are dealt first (about two fifths healthy, the rest spread over the 13 causes), then each
terminal's attributes are drawn so that its cause is physically possible: a compatibility fault
sits on an incompatible brand+model+firmware, a flaky battery on a handheld, and so on.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from . import catalog as C
from .people import Roster, build_roster

LABELS = [
    "software_defect", "compatibility", "outdated_software", "hardware_memory",
    "hardware_overheat", "hardware_power", "hardware_printer", "network", "parameter_mismatch",
    "environment_interference", "operator_error", "training_gap", "maintenance_overdue",
]
VARIANTS = {
    "software_defect": ["installed", "installed", "updated"],
    "compatibility": ["compat_emv", "compat_pinpad"],
    "outdated_software": C.OLD_VERSIONS,
    "hardware_memory": ["leak", "leak", "leak_storage"],
    "hardware_overheat": ["vent", "vent", "sun"],
    "hardware_power": ["battery", "adapter"],
    "hardware_printer": ["jam", "jam", "head"],
    "network": ["weak_signal", "flaky_link"],
    "parameter_mismatch": ["push", "manual", "stale"],
    "environment_interference": ["magnetic", "magnetic", "static"],
    "operator_error": ["careless"],
    "training_gap": ["new_hire", "new_hire", "new_feature"],
    "maintenance_overdue": ["worn", "worn", "worn_serviced"],
}


@dataclass
class TerminalSpec:
    tid: str
    mid: str
    kind: str
    spot: str
    brand: str
    model: str
    form: str
    mem_total: int
    storage_mb: int
    radio: str
    firmware: str
    app_version: str
    params_version: str
    last_maintenance: str | None
    label: str
    variant: str
    intensity: float
    traffic: float
    roster: Roster
    timeout_ms: int
    health_every_ms: int
    seed: str
    update: tuple[int, float, str] | None = None
    visits: list[tuple[int, float, str]] = field(default_factory=list)
    trainings: list[tuple[int, float, str, str]] = field(default_factory=list)
    params_push: tuple[int, float | None, str] | None = None  # day, hour (None: at boot), version
    idle_crash: tuple[int, float] | None = None


def _weighted(rng: random.Random, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for item, w in pairs:
        x -= w
        if x <= 0:
            return item
    return pairs[-1][0]


def _deal_labels(rng: random.Random, n: int) -> list[str]:
    n_none = round(n * 0.4)
    faulty = n - n_none
    labels = ["none"] * n_none
    for i, label in enumerate(LABELS):
        labels += [label] * (faulty // 13 + (i < faulty % 13))
    rng.shuffle(labels)
    return labels


def _intensity(rng: random.Random) -> float:
    u = rng.random()
    if u < 0.3:
        return rng.uniform(0.12, 0.35)
    if u < 0.75:
        return rng.uniform(0.35, 0.7)
    return rng.uniform(0.7, 1.0)


def _pick_model(rng: random.Random, label: str, variant: str):
    pool = C.MODELS
    if label == "compatibility":
        combo = next(c for c in C.INCOMPATIBLE if c[4] == variant)
        m = next(m for m in pool if m[0] == combo[0] and m[1] == combo[1])
        return m, combo[2]
    if label == "hardware_memory" and rng.random() < 0.75:
        pool = [m for m in pool if m[3] <= 1024]
    elif (label == "hardware_power" and variant == "battery") or (
            label == "network" and variant == "weak_signal"):
        pool = [m for m in pool if m[2] == "handheld"]
    elif label == "hardware_power":
        pool = [m for m in pool if m[2] == "countertop"]
    m = _weighted(rng, [(m, m[7]) for m in pool])
    return m, rng.choice(m[6])


def _version(rng: random.Random, label: str, variant: str, combo: tuple, days: int):
    """(version at the window start, planned update in the window or None)."""
    if label == "software_defect":
        if variant == "updated":
            return rng.choice(["4.2.0", "4.2.1"]), (min(days - 1, rng.randrange(2)), rng.uniform(
                10, 15), C.BAD_VERSION)
        return C.BAD_VERSION, None
    if label == "compatibility":
        return "4.2.1", None
    if label == "outdated_software":
        return variant, None
    if label == "training_gap" and variant == "new_feature":
        return "4.1.2", (0, rng.uniform(9.5, 13.0), C.FEATURE_VERSION)
    version = _weighted(rng, C.VERSION_MIX)
    if any(combo == c[:3] for c in C.INCOMPATIBLE) and version in ("4.2.1", C.BAD_VERSION):
        version = "4.1.2"
    if version in ("4.1.2", "4.2.0") and rng.random() < 0.1 and not any(
            combo == c[:3] for c in C.INCOMPATIBLE):
        return version, (rng.randrange(days), rng.uniform(9, 20), C.FEATURE_VERSION)
    return version, None


def _params(rng: random.Random, label: str, variant: str, days: int):
    push_day = min(1, days - 1)
    if label == "parameter_mismatch":
        if variant == "push":
            return C.PARAMS_CURRENT, (push_day, None, C.PARAMS_WRONG[0])
        if variant == "manual":
            return C.PARAMS_CURRENT, (rng.randrange(days), rng.uniform(9.5, 15), C.PARAMS_WRONG[2])
        return C.PARAMS_WRONG[1], None
    late = rng.uniform(9, 19) if rng.random() < 0.1 else None
    return C.PARAMS_CURRENT, (push_day, late, C.PARAMS_PUSH)


def _maintenance(rng: random.Random, label: str, start: dt.date) -> str | None:
    if label == "maintenance_overdue":
        ago = rng.randint(200, 700)
    else:
        u = rng.random()
        if u < 0.1:
            return None
        ago = rng.randint(181, 400) if u < 0.18 else rng.randint(8, 170)
    return (start - dt.timedelta(days=ago)).isoformat()


def _plans(spec: TerminalSpec, rng: random.Random, days: int) -> None:
    for d in range(days):
        if spec.label != "maintenance_overdue" and rng.random() < 0.03:
            spec.visits.append((d, rng.uniform(10, 17), rng.choice(["cleaning", "inspection"])))
    if spec.variant == "worn_serviced" and days >= 2:
        spec.visits.append((days - 1, rng.uniform(13, 16), "cleaning"))
    for op in spec.roster.ops:
        if op.trained_on_day is not None:
            spec.trainings.append((op.trained_on_day, 14.6, op.oid, "basic_sale"))
    if rng.random() < 0.05:
        op = rng.choice(spec.roster.ops)
        if op.courses:
            spec.trainings.append((rng.randrange(days), rng.uniform(14, 16), op.oid,
                                   C.NEW_FEATURE_COURSE))
    if rng.random() < 0.03:
        spec.idle_crash = (rng.randrange(days), rng.uniform(11, 20))


def build_fleet(n: int, days: int, seed: int) -> list[TerminalSpec]:
    rng = random.Random(f"blindfleet:{seed}")
    labels = _deal_labels(rng, n)
    start = dt.date.fromisoformat(C.WINDOW_START)
    specs: list[TerminalSpec] = []
    m_seq = 0
    while len(specs) < n:
        m_seq += 1
        kind = _weighted(rng, list(C.MERCHANT_WEIGHTS.items()))
        open_h, close_h, (lo, hi), staffing, *_, spots, _peaks, _off = C.MERCHANT_KINDS[kind]
        region = rng.choice(["4401", "4403", "3101", "3301", "5101", "1100"])
        mcc = rng.choice(["5812", "5411", "5311", "5912", "5541", "5651"])
        mid = f"898{region}{mcc}{m_seq:04d}"
        ids = iter(f"{i:02d}" for i in range(1, 99))
        for _ in range(min(rng.randint(lo, hi), n - len(specs))):
            specs.append(_terminal(rng, len(specs), labels[len(specs)], kind, mid, spots, staffing,
                                   open_h, close_h, ids, days, start, seed))
    return specs


def _terminal(rng, idx, label, kind, mid, spots, staffing, open_h, close_h, ids, days, start,
              seed) -> TerminalSpec:
    variant = rng.choice(VARIANTS.get(label, ["-"]))
    k = _intensity(rng) if label != "none" else 0.0
    (brand, model, form, mem, storage, radio, _fw, _w), firmware = _pick_model(rng, label, variant)
    version, update = _version(rng, label, variant, (brand, model, firmware), days)
    params_version, push = _params(rng, label, variant, days)
    spot = rng.choice(spots)
    if label == "hardware_overheat":
        spot = "outdoor" if variant == "sun" else rng.choice(["indoor", "kitchen"])
    elif label == "environment_interference" and variant == "magnetic" and kind == "supermarket":
        spot = "gate"
    roster = build_roster(rng, lambda: next(ids), staffing, open_h, close_h, label, variant, k,
                          days)
    spec = TerminalSpec(
        tid=f"{31 + idx % 7}{(idx * 7919 + 104729) % 1000000:06d}", mid=mid, kind=kind, spot=spot,
        brand=brand, model=model, form=form, mem_total=mem, storage_mb=storage, radio=radio,
        firmware=firmware, app_version=version, params_version=params_version,
        last_maintenance=_maintenance(rng, label, start), label=label, variant=variant,
        intensity=round(k, 3), traffic=rng.uniform(0.55, 1.35), roster=roster,
        timeout_ms=rng.choice([30000, 45000, 60000]),
        health_every_ms={"Huaxin": 600000, "Lanpay": 300000, "Sunbay": 900000}.get(brand, 600000),
        seed=f"{seed}:{idx}", update=update, params_push=push)
    _plans(spec, rng, days)
    return spec
