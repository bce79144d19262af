"""`--messy`: what real collectors receive. Clock skew and drift per terminal, an NTP step back,
lines written twice, two lines swapped by the logger, torn and garbage lines, terminals whose
firmware never sends `inventory`, keys and event types readers do not know."""

from __future__ import annotations

import random
from collections.abc import Callable

GARBAGE = ["\ufffd\ufffd\ufffd\ufffd", "logd: buffer overrun, 3 lines lost", "{\"ts\":", "]]"]
EXTRA = {
    "seq": lambda rng, i: i,
    "uptime_s": lambda rng, i: rng.randint(10, 90000),
    "fw_build": lambda rng, i: rng.choice(["20260611.1", "20251102.3"]),
    "_src": lambda rng, i: rng.choice(["logd", "app", "tmsagent"]),
    "pid": lambda rng, i: rng.randint(900, 32000),
}
UNKNOWN = {
    "heartbeat": lambda rng: {"uptime_s": rng.randint(60, 90000), "queue": rng.randint(0, 4)},
    "ota_check": lambda rng: {"result": rng.choice(["none", "none", "deferred"])},
    "keypad": lambda rng: {"key": rng.choice(["F1", "F2", "MENU", "CLR"])},
    "battery_cal": lambda rng: {"cycles": rng.randint(10, 900), "health_pct": rng.randint(60, 99)},
}


def _skew(rng: random.Random) -> int:
    u = rng.random()
    if u < 0.04:
        return 8 * 3_600_000 + rng.randint(-2000, 2000)  # local time written as UTC
    if u < 0.3:
        return rng.randint(-180_000, 180_000)
    return rng.randint(-3000, 3000)


def mess_up(rng: random.Random, spec, events: list, to_line: Callable) -> list[tuple[int, str]]:
    """Serialised lines of one terminal with the messiness applied: (displayed time, line)."""
    if not events:
        return []
    offset, drift, t0 = _skew(rng), rng.uniform(-40e-6, 40e-6), events[0][0]
    drop_inventory = rng.random() < 0.05
    seq_everywhere = spec.brand == "Kaili"  # this firmware numbers every line
    step_at = rng.randrange(len(events)) if rng.random() < 0.04 else len(events)
    step = rng.randint(1500, 4000)
    out: list[tuple[int, str]] = []
    for i, (t, type_, fields) in enumerate(events):
        if type_ == "inventory" and drop_inventory:
            continue
        tt = t + offset + int(drift * (t - t0)) - (step if i >= step_at else 0)
        if seq_everywhere or rng.random() < 0.02:
            key = "seq" if seq_everywhere else rng.choice(list(EXTRA))
            fields = {**fields, key: EXTRA[key](rng, i)}
        line = to_line(spec.tid, tt, type_, fields)
        nxt = events[i + 1] if i + 1 < len(events) else None
        torn = (nxt is not None and nxt[2].get("reason") == "power_loss"
                and rng.random() < 0.3)
        r = rng.random()
        if torn or r < 0.0006:
            line = line[: rng.randint(8, len(line) - 3)]
        elif r < 0.0012:
            out.append((tt, rng.choice(GARBAGE)))
        out.append((tt, line))
        if rng.random() < 0.003:
            out.append((tt, line))
        if type_ == "health" and rng.random() < 0.1:
            name = rng.choice(list(UNKNOWN))
            out.append((tt + rng.randint(1, 400), to_line(spec.tid, tt + rng.randint(1, 400),
                                                          name, UNKNOWN[name](rng))))
    for k in range(len(out) - 1):
        if rng.random() < 0.001:
            out[k], out[k + 1] = out[k + 1], out[k]
    return out
