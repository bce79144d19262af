"""Users, roles and tokens."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from steadypos.tms.schemas.common import Mid, Model, Time


class TokenOut(Model):
    access_token: str
    token_type: str = "bearer"
    expires_at: Time


class UserIn(Model):
    username: str = Field(pattern=r"^[A-Za-z0-9._@-]{3,64}$")
    password: str = Field(min_length=10, max_length=200)
    role: Literal["admin", "ops", "merchant"]
    mid: Mid | None = None

    @model_validator(mode="after")
    def _mid_for_merchants(self) -> UserIn:
        if (self.role == "merchant") != (self.mid is not None):
            raise ValueError("mid: a merchant user has a mid, and only a merchant user")
        return self


class UserOut(Model):
    id: str
    username: str
    role: str
    mid: str | None
    disabled: bool
    created_at: Time
