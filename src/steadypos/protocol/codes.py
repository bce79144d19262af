"""Response codes (F39) of pos-link-v1 §5 and the reversal reasons a 0400 carries in F39, as
enums whose members also carry the spec's meaning; the code sets the rules of §4 and §6 use."""

from __future__ import annotations

from enum import StrEnum


class _Code(StrEnum):
    """A two-character F39 value with its meaning in the spec's words."""

    meaning: str

    def __new__(cls, code: str, meaning: str) -> _Code:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member


class ResponseCode(_Code):
    """F39 of a response (§5)."""

    APPROVED = "00", "approved"
    INVALID_MERCHANT = "03", "invalid merchant"
    DO_NOT_HONOUR = "05", "do not honour"
    INVALID_TRANSACTION = "12", "invalid transaction"
    INVALID_AMOUNT = "13", "invalid amount"
    INVALID_CARD = "14", "invalid card / unknown QR code"
    NOT_ORIGINAL = "22", "suspected malfunction (does not match original)"
    ORIGINAL_NOT_FOUND = "25", "original not found"
    FORMAT_ERROR = "30", "format error"
    INSUFFICIENT_FUNDS = "51", "insufficient funds"
    EXPIRED_CARD = "54", "expired card"
    WRONG_PIN = "55", "wrong PIN"
    NOT_ALLOWED = "58", "not allowed on this terminal"
    OVER_LIMIT = "61", "over amount limit"
    PIN_TRIES_EXCEEDED = "75", "PIN tries exceeded"
    DUPLICATE = "94", "duplicate transmission"
    SYSTEM_ERROR = "96", "system error"
    NOT_SIGNED_IN = "97", "terminal not signed in"
    BATCH_MISMATCH = "77", "batch number does not match, sign in again"
    PIN_BLOCK_ERROR = "99", "PIN block error, sign in again"
    MAC_ERROR = "A0", "MAC error, sign in again"


class ReversalReason(_Code):
    """F39 of a 0400: why the terminal reverses (§5, §6)."""

    NO_RESPONSE = "98", "no response"
    MAC_FAILED = "A0", "response MAC failed"
    TERMINAL_FAILED = "96", "approved but the terminal failed before it finished"
    OTHER = "06", "other"


_R = ResponseCode
# Kept for the terminal engine's imports until it names ResponseCode members itself.
APPROVED = _R.APPROVED
BATCH_MISMATCH = _R.BATCH_MISMATCH
# A reversal refused because its original stands (in a settled batch): it must be refunded.
ORIGINAL_STANDS = _R.INVALID_TRANSACTION
# Responses the host cannot or must not MAC (§4).
UNMACED_CODES = frozenset({_R.MAC_ERROR, _R.PIN_BLOCK_ERROR, _R.NOT_SIGNED_IN,
                           _R.INVALID_MERCHANT})
# Answers that say the host did not act on the request at all (§6 rule 8).
NOT_PROCESSED = frozenset({_R.INVALID_MERCHANT, _R.FORMAT_ERROR, _R.SYSTEM_ERROR,
                           _R.NOT_SIGNED_IN, _R.PIN_BLOCK_ERROR, _R.MAC_ERROR})
# Codes after which the terminal must sign in again.
SIGN_IN_AGAIN = frozenset({_R.MAC_ERROR, _R.PIN_BLOCK_ERROR, _R.NOT_SIGNED_IN,
                           _R.BATCH_MISMATCH})
REVERSAL_REASONS = frozenset(ReversalReason)


# A response code's meaning wins where a reversal reason shares its code (96, A0).
_MEANINGS = {c.value: c.meaning for c in ReversalReason} | {c.value: c.meaning for c in _R}


def describe(rc: str) -> str:
    """The meaning of a response code, or else of a reversal reason; "unknown code" if neither."""
    return _MEANINGS.get(rc, "unknown code")
