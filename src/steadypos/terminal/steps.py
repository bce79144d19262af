"""The journal steps of a payment flow, in order, the steps that end one early, and the screen
each flow is on at each step."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Step(StrEnum):
    """A step as the journal records it (`txns.step`, the `steps` table)."""

    FLOW_STARTED = "flow_started"
    CARD_READ = "card_read"
    PIN_CAPTURED = "pin_captured"
    REQUEST_PACKED = "request_packed"
    REVERSAL_STORED = "reversal_stored"
    REQUEST_SENT = "request_sent"
    RESPONSE_RECEIVED = "response_received"
    JOURNAL_WRITTEN = "journal_written"
    REVERSAL_CLEARED = "reversal_cleared"
    RECEIPT_PRINTED = "receipt_printed"
    # Ends other than the receipt:
    FLOW_ABORTED = "flow_aborted"  # stopped before anything was charged
    SEND_PENDING = "send_pending"  # a settlement that could not go out: `recover` sends it
    REVERSED = "reversed"  # its reversal was answered
    REVERSAL_REFUSED = "reversal_refused"  # 12: the original is in a settled batch and stands
    REVERSAL_DROPPED = "reversal_dropped"  # only a deliberately broken terminal does this


# The steps a payment goes through, in order (a flow skips those it has no use for).
STEPS: tuple[Step, ...] = (
    Step.FLOW_STARTED,
    Step.CARD_READ,
    Step.PIN_CAPTURED,
    Step.REQUEST_PACKED,
    Step.REVERSAL_STORED,
    Step.REQUEST_SENT,
    Step.RESPONSE_RECEIVED,
    Step.JOURNAL_WRITTEN,
    Step.REVERSAL_CLEARED,
    Step.RECEIPT_PRINTED,
)

# Kind of operator flow -> (first step, the screen it is on from that step on), in step order
# (docs/flash-exit-diagnosis.md): what an interrupted flow broke at, by its journal alone.
FLOW_SCREENS: dict[str, tuple[tuple[str, str], ...]] = {
    "sale": (("flow_started", "amount"), ("card_read", "card"), ("pin_captured", "pin"),
             ("request_packed", "online"), ("receipt_printed", "receipt")),
    "balance": (("flow_started", "card"), ("card_read", "pin"), ("request_packed", "online")),
    "void": (("flow_started", "amount"), ("request_packed", "online"),
             ("receipt_printed", "receipt")),
    "refund": (("flow_started", "amount"), ("request_packed", "online"),
               ("receipt_printed", "receipt")),
}


def screen_at(kind: str, step: str) -> str | None:
    """The screen a `kind` flow was on once `step` was on disk; None when `kind` is no operator
    flow (settlement, sign-in)."""
    screens = FLOW_SCREENS.get(kind)
    if screens is None:
        return None
    reached = STEPS.index(step) if step in STEPS else 0
    return [screen for first, screen in screens if STEPS.index(first) <= reached][-1]


def broke_at(interrupted: Iterable[tuple[str, str]]) -> str | None:
    """The screen the last of the journal's interrupted flows (kind, step) broke at, if any."""
    screens = [screen_at(kind, step) for kind, step in interrupted]
    return next((s for s in reversed(screens) if s is not None), None)

