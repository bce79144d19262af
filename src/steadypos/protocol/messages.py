"""The messages of §3 as a table: how each is recognised, which fields it needs, allows, forbids."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from steadypos.protocol.codec import Message
from steadypos.protocol.mti import Mti, response_mti


class MessageName(StrEnum):
    """The messages of §3, by the name the host's records and the terminal's journal use."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    ECHO = "echo"
    BALANCE = "balance"
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    REVERSAL = "reversal"
    SETTLE = "settle"
    BATCH_UPLOAD = "batch_upload"
    BATCH_UPLOAD_END = "batch_upload_end"


# §6 rule 1: a request that moves money is reversible, except a refund and the reversal itself.
NEVER_REVERSED = frozenset({MessageName.REFUND, MessageName.REVERSAL})


@dataclass(frozen=True)
class MessageType:
    """One row of §3: how a request is recognised, which fields it needs, allows, answers with."""

    name: MessageName
    mti: Mti
    f3: str | None  # None: no F3 (or, for reversal, the original's)
    f60_1: str | None
    f60_3: str | None
    required: frozenset[int]
    optional: frozenset[int]
    response: frozenset[int]
    moves_money: bool = False

    @property
    def response_mti(self) -> str:
        return response_mti(self.mti)

    @property
    def reversible(self) -> bool:
        """Whether the terminal keeps a reversal record for it (§6 rule 1)."""
        return self.moves_money and self.name not in NEVER_REVERSED


def _f(*numbers: int) -> frozenset[int]:
    return frozenset(numbers)


_SALE_RESPONSE = _f(2, 3, 4, 11, 12, 13, 15, 25, 32, 37, 38, 39, 41, 42, 44, 49, 55, 60, 63, 64)

_N = MessageName
CATALOG: tuple[MessageType, ...] = (
    MessageType(_N.SIGN_IN, Mti.NETWORK, None, "00", "003", _f(11, 41, 42, 60, 63), _f(),
                _f(11, 12, 13, 32, 37, 39, 41, 42, 60, 62)),
    MessageType(_N.SIGN_OUT, Mti.NETWORK_ADVICE, None, "00", "002", _f(11, 41, 42, 60, 64),
                _f(), _f(11, 39, 41, 42, 60, 64)),
    MessageType(_N.ECHO, Mti.NETWORK_ADVICE, None, "00", "301", _f(11, 41, 42, 60), _f(),
                _f(11, 39, 41, 42, 60)),
    MessageType(_N.BALANCE, Mti.FINANCIAL, "310000", "01", None,
                _f(2, 3, 11, 14, 22, 25, 26, 35, 41, 42, 49, 52, 53, 60, 64), _f(23, 55),
                _f(2, 3, 11, 12, 13, 37, 39, 41, 42, 54, 60, 64)),
    MessageType(_N.SALE, Mti.FINANCIAL, "000000", "22", None,
                _f(2, 3, 4, 11, 22, 25, 41, 42, 49, 60, 64), _f(14, 23, 26, 35, 52, 53, 55),
                _SALE_RESPONSE, moves_money=True),
    MessageType(_N.VOID, Mti.FINANCIAL, "200000", "23", None,
                _f(2, 3, 4, 11, 22, 25, 37, 38, 41, 42, 49, 60, 61, 64),
                _f(14, 23, 26, 35, 52, 53, 55), _SALE_RESPONSE, moves_money=True),
    MessageType(_N.REFUND, Mti.FINANCIAL_ADVICE, "200000", "25", None,
                _f(2, 3, 4, 11, 22, 25, 37, 41, 42, 49, 60, 61, 64), _f(14, 23, 35, 38),
                _SALE_RESPONSE, moves_money=True),
    MessageType(_N.REVERSAL, Mti.REVERSAL, None, None, None,
                _f(2, 3, 4, 11, 22, 25, 39, 41, 42, 49, 60, 64), _f(14, 23, 38, 61),
                _f(2, 3, 4, 11, 12, 13, 37, 39, 41, 42, 60, 64), moves_money=True),
    MessageType(_N.SETTLE, Mti.SETTLEMENT, None, "00", "201",
                _f(11, 41, 42, 48, 49, 60, 63, 64), _f(),
                _f(11, 12, 13, 15, 37, 39, 41, 42, 48, 49, 60, 64)),
    MessageType(_N.BATCH_UPLOAD, Mti.BATCH_UPLOAD, None, "00", "201",
                _f(11, 41, 42, 48, 60, 64), _f(), _f(11, 39, 41, 42, 60, 64)),
    MessageType(_N.BATCH_UPLOAD_END, Mti.BATCH_UPLOAD, None, "00", "202",
                _f(11, 41, 42, 48, 60, 64), _f(), _f(11, 39, 41, 42, 60, 64)),
)

BY_NAME: dict[MessageName, MessageType] = {m.name: m for m in CATALOG}
# Fields a reversal must never carry (§3).
REVERSAL_FORBIDDEN = _f(26, 35, 36, 52, 53)
# 60.1 of the original, for reversals: which message a 0400 undoes.
REVERSIBLE_BY_60_1 = {m.f60_1: m for m in CATALOG if m.reversible}


def classify(msg: Message) -> MessageType | None:
    """The catalogue entry a request matches, by MTI, F3, 60.1 and 60.3; None if none does."""
    f60 = msg.get(60)
    for mt in CATALOG:
        if mt.mti != msg.mti:
            continue
        if mt.name == MessageName.REVERSAL:
            return mt
        if mt.f3 is not None and msg.get(3) != mt.f3:
            continue
        if mt.f60_1 is not None and f60[:2] != mt.f60_1:
            continue
        if mt.f60_3 is not None and f60[8:11] != mt.f60_3:
            continue
        return mt
    return None


def missing_or_extra(msg: Message, mt: MessageType) -> tuple[set[int], set[int]]:
    present = set(msg.fields)
    missing = set(mt.required) - present
    extra = present - mt.required - mt.optional
    if mt.name == MessageName.REVERSAL:
        extra |= present & REVERSAL_FORBIDDEN
    return missing, extra
