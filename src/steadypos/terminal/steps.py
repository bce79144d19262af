"""The journal steps of a payment flow, in order, and the steps that end one early."""

from __future__ import annotations

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
