"""Shapes every resource shares: lists with a total, bounded plain text, RFC 3339 UTC times."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer


def _plain(text: str) -> str:
    """No control characters (NUL would break PostgreSQL, others only hide things) and no
    leading or trailing space."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise ValueError("must not contain control characters")
    text = text.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


_Plain = AfterValidator(_plain)
Text64 = Annotated[str, Field(min_length=1, max_length=64), _Plain]
Text100 = Annotated[str, Field(min_length=1, max_length=100), _Plain]
Text200 = Annotated[str, Field(min_length=1, max_length=200), _Plain]
Text300 = Annotated[str, Field(min_length=1, max_length=300), _Plain]


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Time = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str),
                 Field(json_schema_extra={"format": "date-time"})]

MID_PATTERN = r"^\d{15}$"
TID_PATTERN = r"^[0-9A-Z]{8}$"
ID_PATTERN = r"^\d{1,9}$"  # fits a 32-bit integer column on PostgreSQL
Mid = Annotated[str, Field(pattern=MID_PATTERN, description="merchant id, 15 digits")]
Tid = Annotated[str, Field(pattern=TID_PATTERN, description="terminal id, 8 characters")]

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Model, Generic[T]):
    items: list[T]
    total: int


class Paging:
    """`?limit=` (default 100, at most 1000) and `?offset=`, as a dependency."""

    def __init__(self, limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0, le=1_000_000_000)) -> None:
        self.limit = limit
        self.offset = offset
