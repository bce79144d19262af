"""The journal steps of a payment flow, in order, and the test hook that kills the process."""

from __future__ import annotations

import os
import signal

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
