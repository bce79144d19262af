"""What a terminal command ends with: the result the operator sees, whether the customer was
charged, and its exit status."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from steadypos.terminal.texts import Text


class Exit(IntEnum):
    """Exit status of a terminal command (README, "Exit status")."""

    OK = 0
    DECLINED = 1  # declined, or failed with nothing pending: not charged
    USAGE = 2  # bad usage or input: nothing written
    PENDING = 3  # failed with a reversal pending
    BLOCKED = 4  # a pending reversal cannot be sent: no new sale


class Result(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    BLOCKED = "blocked"
    DONE = "done"  # a command that is not a payment went through (sign-in, settlement, ...)


class Charged(StrEnum):
    """What a flow did to the customer's money, as the operator must say it."""

    YES = "charged"  # the money moved (for a void or refund: it went back)
    NO = "not_charged"  # nothing moved
    REVERSING = "being_reversed"  # it may have moved; a stored reversal undoes it
    UNKNOWN = "unknown"  # sent, no answer, not reversible: `recover` learns the outcome


@dataclass
class Outcome:
    result: str  # a Result
    message: str
    rc: str = ""
    stan: int | None = None
    batch: int | None = None
    rrn: str = ""
    auth_code: str = ""
    reversal_pending: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    unknown: bool = False  # sent and unanswered, nothing to reverse: the outcome is not known
    said: tuple[Text, ...] = ()  # `message` as catalogue texts, for the operator's language

    @classmethod
    def told(cls, result: str, *said: Text, **kw: Any) -> Outcome:
        """An outcome whose message is these texts, one after the other (English in `message`)."""
        return cls(result, "".join(str(t) for t in said), said=said, **kw)

    def say(self, lang: str) -> str:
        """The message in the operator's language."""
        return "".join(t.say(lang) for t in self.said) if self.said else self.message

    @property
    def charged(self) -> Charged:
        if self.result == Result.APPROVED:
            return Charged.YES
        if self.reversal_pending:
            return Charged.REVERSING
        return Charged.UNKNOWN if self.unknown else Charged.NO

    @property
    def exit_code(self) -> int:
        if self.result in (Result.APPROVED, Result.DONE):
            return Exit.OK
        if self.result == Result.BLOCKED:
            return Exit.BLOCKED
        if self.result == Result.FAILED and self.reversal_pending:
            return Exit.PENDING
        return Exit.DECLINED

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        extra = out.pop("extra")
        out.pop("said")
        out.pop("reversal_pending")
        out.pop("unknown")
        out["stan"] = f"{self.stan:06d}" if self.stan is not None else None
        out["batch"] = f"{self.batch:06d}" if self.batch is not None else None
        out["reversal_pending"] = self.reversal_pending
        out.update(extra)
        return out
