"""Toxics: what the fault proxy does to a frame. `Toxic` is one configured fault; `KINDS` is the
table of kinds (directions, default direction, the parameters each one reads) as data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

UPSTREAM = "upstream"  # client -> host: requests
DOWNSTREAM = "downstream"  # host -> client: answers
DIRECTIONS = (UPSTREAM, DOWNSTREAM)
MAC_LEN = 8  # F64 closes every MACed message


@dataclass(frozen=True)
class ToxicKind:
    name: str
    directions: tuple[str, ...]
    default_direction: str
    params: tuple[str, ...]
    summary: str


KINDS: dict[str, ToxicKind] = {k.name: k for k in (
    ToxicKind("latency", DIRECTIONS, DOWNSTREAM, ("latency_ms", "jitter_ms"),
         "hold each frame latency_ms, plus or minus up to jitter_ms (uniform); order is kept"),
    ToxicKind("black_hole", DIRECTIONS, UPSTREAM, (),
         "swallow the frame; the connection stays open and nothing is answered for it"),
    ToxicKind("drop_response", (DOWNSTREAM,), DOWNSTREAM, ("close",),
         "the host got the request, its answer is dropped; close=True then closes the client"),
    ToxicKind("reset", DIRECTIONS, DOWNSTREAM, ("partial_bytes",),
         "instead of the frame (after its first partial_bytes bytes), reset both connections"),
    ToxicKind("slice", DIRECTIONS, DOWNSTREAM, ("slice_bytes", "slice_delay_ms"),
         "write the frame in pieces of slice_bytes, slice_delay_ms apart"),
    ToxicKind("duplicate_request", (UPSTREAM,), UPSTREAM, ("duplicate_gap_ms", "forward"),
         "send the request twice upstream; forward the first (or second) answer only"),
    ToxicKind("corrupt_byte", DIRECTIONS, DOWNSTREAM, ("offset", "target", "xor"),
         "xor one byte of the payload: at offset (None: random; negative: from the end), "
         "anywhere (target='payload') or in the last 8 bytes, the F64 MAC (target='mac')"),
)}

TARGETS = ("payload", "mac")
FORWARDS = ("first", "second")


@dataclass
class Toxic:
    """One fault. Every frame in `direction` is rolled against `probability` (the proxy's seeded
    RNG); with `count`, only the next `count` frames in that direction are rolled, then the toxic
    is spent (it stays listed, with nothing left). Offsets count in the payload, after the 2-byte
    length, so a corrupted frame still frames."""

    kind: str
    name: str = ""  # default: "<kind>_<direction>"
    direction: str = ""  # default: the kind's (see KINDS)
    probability: float = 1.0
    count: int | None = None
    latency_ms: float = 100.0
    jitter_ms: float = 0.0
    close: bool = False
    partial_bytes: int = 0
    slice_bytes: int = 8
    slice_delay_ms: float = 10.0
    duplicate_gap_ms: float = 0.0
    forward: str = "first"
    offset: int | None = None
    target: str = "payload"
    xor: int | None = None  # None: a random non-zero mask from the seeded RNG

    def __post_init__(self) -> None:
        kind = KINDS.get(self.kind)
        if kind is None:
            raise ValueError(f"unknown toxic kind {self.kind!r}; kinds: {', '.join(KINDS)}")
        self.direction = self.direction or kind.default_direction
        if self.direction not in kind.directions:
            raise ValueError(f"{self.kind} works {' or '.join(kind.directions)} only, "
                             f"not {self.direction!r}")
        self.name = self.name or f"{self.kind}_{self.direction}"
        defaults = _defaults()
        for f in _PARAMS:
            if f not in kind.params and getattr(self, f) != defaults[f]:
                raise ValueError(f"{self.kind} does not take {f}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability {self.probability} is outside 0..1")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count {self.count} is negative")
        for f in ("latency_ms", "jitter_ms", "slice_delay_ms", "duplicate_gap_ms",
                  "partial_bytes"):
            if getattr(self, f) < 0:
                raise ValueError(f"{f} {getattr(self, f)} is negative")
        if self.slice_bytes < 1:
            raise ValueError(f"slice_bytes {self.slice_bytes} is below 1")
        if self.target not in TARGETS:
            raise ValueError(f"target {self.target!r} is not one of {', '.join(TARGETS)}")
        if self.forward not in FORWARDS:
            raise ValueError(f"forward {self.forward!r} is not one of {', '.join(FORWARDS)}")
        if self.xor is not None and not 1 <= self.xor <= 255:
            raise ValueError(f"xor {self.xor} is outside 1..255")

    def to_dict(self) -> dict[str, Any]:
        """The fields that matter for this kind, JSON-ready."""
        keep = ("kind", "name", "direction", "probability", "count", *KINDS[self.kind].params)
        return {f: getattr(self, f) for f in keep}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Toxic:
        """From JSON: unknown keys and wrong types are errors (ValueError), not ignored."""
        if not isinstance(data, dict):
            raise ValueError("a toxic is a JSON object")
        if "kind" not in data:
            raise ValueError("a toxic needs a kind")
        unknown = sorted(set(data) - set(_TYPES))
        if unknown:
            raise ValueError(f"unknown toxic fields: {', '.join(unknown)}")
        for k, v in data.items():
            _check_type(k, v)
        return cls(**data)


_PARAMS = ("latency_ms", "jitter_ms", "close", "partial_bytes", "slice_bytes", "slice_delay_ms",
           "duplicate_gap_ms", "forward", "offset", "target", "xor")
_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,), "name": (str,), "direction": (str,), "probability": (int, float),
    "count": (int, type(None)), "latency_ms": (int, float), "jitter_ms": (int, float),
    "close": (bool,), "partial_bytes": (int,), "slice_bytes": (int,),
    "slice_delay_ms": (int, float), "duplicate_gap_ms": (int, float), "forward": (str,),
    "offset": (int, type(None)), "target": (str,), "xor": (int, type(None)),
}


def _check_type(name: str, value: Any) -> None:
    ok = _TYPES[name]
    # bool is an int in Python; a JSON true is not a count or a byte offset.
    if isinstance(value, bool) and bool not in ok or not isinstance(value, ok):
        raise ValueError(f"{name} must be {' or '.join(t.__name__ for t in ok)}, "
                         f"not {type(value).__name__}")


def _defaults() -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(Toxic)
            if f.default is not dataclasses.MISSING}
