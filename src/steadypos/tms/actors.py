"""Who is making a request: a user with a role (bound to a MID for merchants) or a terminal."""

from __future__ import annotations

from dataclasses import dataclass

from steadypos.tms.errors import Forbidden
from steadypos.tms.models import Role

TERMINAL = "terminal"


@dataclass(frozen=True)
class Actor:
    name: str  # what the audit log shows: `user:alice`, `terminal:10000001`, `anonymous`
    role: str  # a Role, `terminal` or `anonymous`
    user_id: int | None = None
    mid: str | None = None  # merchants only
    tid: str | None = None  # terminals only
    csrf: str | None = None  # page sessions only

    def require(self, *roles: Role) -> Actor:
        """403 unless the actor has one of `roles` (admin has every role)."""
        if self.role != Role.ADMIN and self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this")
        return self

    @property
    def scope_mid(self) -> str | None:
        """The only MID a merchant may see; None for staff, who see every merchant."""
        return self.mid if self.role == Role.MERCHANT else None

    def sees(self, mid: str) -> bool:
        return self.scope_mid is None or self.scope_mid == mid


ANONYMOUS = Actor("anonymous", "anonymous")
