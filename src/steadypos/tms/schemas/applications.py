"""Merchant applications and their review."""

from __future__ import annotations

from pydantic import Field, field_validator

from steadypos.tms.identifiers import mobile_problem, uscc_problem
from steadypos.tms.schemas.common import Mid, Model, Text100, Text200, Text300, Time


class ApplicationIn(Model):
    legal_name: Text200
    licence_no: str = Field(min_length=1, max_length=40,
                            description="18-character unified social credit code")
    contact_name: Text100
    contact_phone: str = Field(min_length=1, max_length=20, description="11-digit mobile")
    address: Text300
    settlement_account: str = Field(pattern=r"^\d{8,32}$",
                                    description="bank account number, 8 to 32 digits")
    terminals_requested: int = Field(ge=1, le=100)

    @field_validator("licence_no")
    @classmethod
    def _licence(cls, value: str) -> str:
        value = value.strip().upper()
        problem = uscc_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = value.strip().removeprefix("+86").strip()
        problem = mobile_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ApplicationCreated(Model):
    id: str
    status: str


class ApplicationOut(Model):
    id: str
    status: str
    legal_name: str
    licence_no: str
    contact_name: str
    contact_phone: str
    address: str
    settlement_account: str = Field(description="masked: only the last 4 digits")
    terminals_requested: int
    mid: str | None
    reason: str | None
    submitted_at: Time
    decided_at: Time | None
    decided_by: str | None


class Decision(Model):
    status: str
    mid: Mid | None = None
    reason: str | None = None


class RejectIn(Model):
    reason: Text300
