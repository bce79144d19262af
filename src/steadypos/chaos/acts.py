"""What each toxic does to the one frame it rolled for: the proxy's plan for that frame (delay,
drop, close, reset, slice, copies, corrupted bytes), one function per toxic kind."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from steadypos.chaos.toxics import KINDS, MAC_LEN, Toxic


@dataclass
class FramePlan:
    """What to do with one frame, once every toxic in its direction has had its roll."""

    frame: bytes
    delay: float = 0.0
    drop: bool = False
    close: bool = False
    reset: bool = False
    partial: int = 0
    slice_bytes: int = 0
    slice_delay: float = 0.0
    copies: int = 1
    gap: float = 0.0
    forward_second: bool = False


def _latency(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    ms = t.latency_ms + (rng.uniform(-t.jitter_ms, t.jitter_ms) if t.jitter_ms else 0.0)
    ms = max(ms, 0.0)
    plan.delay += ms / 1000
    return f"held {ms:.1f} ms"


def _black_hole(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    plan.drop = True
    return "swallowed"


def _drop_response(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    plan.drop = True
    plan.close = t.close
    return "dropped, connection closed" if t.close else "dropped"


def _reset(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    plan.reset = True
    plan.partial = min(t.partial_bytes, len(plan.frame))
    return f"reset after {plan.partial} bytes"


def _slice(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    plan.slice_bytes = t.slice_bytes
    plan.slice_delay = t.slice_delay_ms / 1000
    return f"{t.slice_bytes}-byte pieces, {t.slice_delay_ms} ms apart"


def _duplicate(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    plan.copies = 2
    plan.gap = t.duplicate_gap_ms / 1000
    plan.forward_second = t.forward == "second"
    return f"sent twice, {t.forward} answer forwarded"


def _corrupt(t: Toxic, rng: random.Random, plan: FramePlan) -> str | None:
    size = len(plan.frame) - 2
    base = max(size - MAC_LEN, 0) if t.target == "mac" else 0
    span = size - base
    if span <= 0:
        return None
    if t.offset is None:
        at = base + rng.randrange(span)
    elif -span <= t.offset < span:
        at = base + t.offset % span
    else:
        return None  # the frame is too short for that offset: left alone, not counted
    mask = t.xor if t.xor is not None else rng.randrange(1, 256)
    buf = bytearray(plan.frame)
    buf[2 + at] ^= mask
    plan.frame = bytes(buf)
    return f"payload byte {at} of {size} xor {mask:02X}"


APPLY: dict[str, Callable[[Toxic, random.Random, FramePlan], str | None]] = {
    "latency": _latency,
    "black_hole": _black_hole,
    "drop_response": _drop_response,
    "reset": _reset,
    "slice": _slice,
    "duplicate_request": _duplicate,
    "corrupt_byte": _corrupt,
}
assert set(APPLY) == set(KINDS)
