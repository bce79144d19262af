"""Response codes (F39) of pos-link-v1 §5 and reversal reasons, as a table."""

from __future__ import annotations

RESPONSE_CODES: dict[str, str] = {
    "00": "approved",
    "03": "invalid merchant",
    "05": "do not honour",
    "12": "invalid transaction",
    "13": "invalid amount",
    "14": "invalid card / unknown QR code",
    "22": "suspected malfunction (does not match original)",
    "25": "original not found",
    "30": "format error",
    "51": "insufficient funds",
    "54": "expired card",
    "55": "wrong PIN",
    "58": "not allowed on this terminal",
    "61": "over amount limit",
    "75": "PIN tries exceeded",
    "94": "duplicate transmission",
    "96": "system error",
    "97": "terminal not signed in",
    "77": "batch number does not match, sign in again",
    "99": "PIN block error, sign in again",
    "A0": "MAC error, sign in again",
}

REVERSAL_REASONS: dict[str, str] = {
    "98": "no response",
    "A0": "response MAC failed",
    "96": "approved but the terminal failed before it finished",
    "06": "other",
}

APPROVED = "00"
# Responses the host cannot or must not MAC (§4).
UNMACED_CODES = frozenset({"A0", "99", "97", "03"})
# Answers that say the host did not act on the request at all.
NOT_PROCESSED = frozenset({"03", "30", "96", "97", "99", "A0"})
# Codes after which the terminal must sign in again.
SIGN_IN_AGAIN = frozenset({"A0", "99", "97", "77"})
BATCH_MISMATCH = "77"
# A reversal refused because its original stands (in a settled batch): it must be refunded.
ORIGINAL_STANDS = "12"


def describe(rc: str) -> str:
    return RESPONSE_CODES.get(rc) or REVERSAL_REASONS.get(rc) or "unknown code"
