"""Message type indicators (MTI) of pos-link-v1 §3, and the ISO 8583 rule that derives a response's
MTI from its request's (the third digit, the message function, goes from request to response)."""

from __future__ import annotations

from enum import StrEnum

REQUEST_FUNCTIONS = "02"  # x0x0 request, x2x0 advice
RESPONSE_FUNCTIONS = "13"  # x1x0 request response, x3x0 advice response


class Mti(StrEnum):
    """The request MTIs of the profile; `response` is each one's answer."""

    NETWORK = "0800"  # sign-in
    NETWORK_ADVICE = "0820"  # sign-out, echo test
    FINANCIAL = "0200"  # balance, sale, void
    FINANCIAL_ADVICE = "0220"  # refund
    BATCH_UPLOAD = "0320"
    REVERSAL = "0400"
    SETTLEMENT = "0500"

    @property
    def response(self) -> str:
        return response_mti(self)


def response_mti(mti: str) -> str:
    """The MTI that answers `mti`: 0200 -> 0210, 0220 -> 0230, 0800 -> 0810 and so on."""
    return mti[:2] + str(int(mti[2]) + 1) + mti[3:]


def is_request(mti: str) -> bool:
    """Shaped as a request or an advice (x0x0, x2x0), whether or not the profile has it."""
    return len(mti) == 4 and mti[2] in REQUEST_FUNCTIONS and mti[3] == "0"


def is_response(mti: str) -> bool:
    return len(mti) == 4 and mti[2] in RESPONSE_FUNCTIONS
