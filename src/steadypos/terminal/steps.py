"""The journal steps of a payment flow, in order, the screen each flow is on at each step, and
the test hook that kills the process."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable

STEPS: tuple[str, ...] = (
    "flow_started",
    "card_read",
    "pin_captured",
    "request_packed",
    "reversal_stored",
    "request_sent",
    "response_received",
    "journal_written",
    "reversal_cleared",
    "receipt_printed",
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


# Test only: `STEADYPOS_TEST_KILL_AT=request_sent` (or its 1-based number) makes the terminal
# SIGKILL itself right after that step is on disk, before the action that follows it.
KILL_ENV = "STEADYPOS_TEST_KILL_AT"


def kill_point() -> str | None:
    raw = os.environ.get(KILL_ENV, "").strip()
    if not raw:
        return None
    if raw.isdigit() and 1 <= int(raw) <= len(STEPS):
        return STEPS[int(raw) - 1]
    return raw if raw in STEPS else None


def after_step(step: str) -> None:
    if kill_point() == step:
        os.kill(os.getpid(), signal.SIGKILL)
