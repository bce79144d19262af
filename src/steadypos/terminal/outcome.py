"""What a terminal command ends with: the result the operator sees, and its exit status."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXIT_OK, EXIT_DECLINED, EXIT_USAGE, EXIT_PENDING, EXIT_BLOCKED = 0, 1, 2, 3, 4


@dataclass
class Outcome:
    result: str  # approved, declined, failed, blocked, done
    message: str
    rc: str = ""
    stan: int | None = None
    batch: int | None = None
    rrn: str = ""
    auth_code: str = ""
    reversal_pending: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.result in ("approved", "done"):
            return EXIT_OK
        if self.result == "blocked":
            return EXIT_BLOCKED
        if self.result == "failed" and self.reversal_pending:
            return EXIT_PENDING
        return EXIT_DECLINED

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        extra = out.pop("extra")
        out.pop("reversal_pending")
        out["stan"] = f"{self.stan:06d}" if self.stan is not None else None
        out["batch"] = f"{self.batch:06d}" if self.batch is not None else None
        out["reversal_pending"] = self.reversal_pending
        out.update(extra)
        return out
