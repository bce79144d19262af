"""Notification hooks as the API takes and shows them (a webhook's secret is never shown)."""

from __future__ import annotations

from pydantic import Field, model_validator

from steadypos.tms.notify_models import HookKind
from steadypos.tms.schemas.common import Model, Time


class HookIn(Model):
    owner: str = Field(min_length=1, max_length=80, description="a user or a team")
    kind: HookKind
    target: str = Field(min_length=3, max_length=300,
                        description="the webhook's http(s) URL, or an e-mail address")
    secret: str | None = Field(default=None, min_length=16, max_length=128,
                               description="signs a webhook's body (HMAC-SHA256)")

    @model_validator(mode="after")
    def _target_fits_kind(self) -> HookIn:
        if self.kind == HookKind.WEBHOOK and not self.target.startswith(("http://", "https://")):
            raise ValueError("a webhook's target is an http(s) URL")
        if self.kind == HookKind.EMAIL and "@" not in self.target:
            raise ValueError("an e-mail hook's target is an address")
        return self


class HookOut(Model):
    id: int
    owner: str
    kind: HookKind
    target: str
    signed: bool
    created_at: Time
