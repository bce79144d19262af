"""Releases (signed by the TMS) and staged rollouts."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from steadypos.tms.schemas.common import Model, Text64, Time
from steadypos.tms.schemas.targets import Target
from steadypos.tms.schemas.telemetry import Version

MAX_PACKAGE_B64 = 1_400_000  # a 1 MiB package (the terminal's limit) in base64


class Compatible(Model):
    model_config = ConfigDict(extra="forbid")
    brand: Text64
    model: Text64
    firmware: Text64 = Field(description="exact, or `*` for any")


class ReleaseIn(Model):
    model_config = ConfigDict(extra="forbid")
    version: Version
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the package's bytes")
    compatible: Annotated[list[Compatible], Field(min_length=1, max_length=100)]
    notes: str = Field("", max_length=2000)
    package: str = Field(min_length=4, max_length=MAX_PACKAGE_B64,
                         description="the package's bytes, base64")


class ReleaseOut(Model):
    version: str
    sha256: str
    size: int
    signature: str
    compatible: list[Compatible]
    notes: str
    created_at: Time


class DayRate(Model):
    day: str
    sessions: int
    crashed: int
    crash_free_pct: float | None


class ReleaseHealth(Model):
    version: str
    sessions: int
    crashed: int
    crash_free_pct: float | None = Field(description="crash-free session rate, percent")
    terminals: int = Field(description="terminals running it")
    adoption_pct: float = Field(description="share of active terminals running it, percent")
    daily: list[DayRate]


class RolloutIn(Model):
    model_config = ConfigDict(extra="forbid")
    release: Version
    target: Target
    stages: Annotated[list[int], Field(min_length=1, max_length=20)] = [1, 10, 50, 100]
    min_sessions: int = Field(200, ge=1, le=10_000_000)
    max_crash_free_drop: float = Field(1.0, ge=0, le=100, description="points")
    observe_minutes: int = Field(60, ge=0, le=43_200)

    @field_validator("stages")
    @classmethod
    def _increasing(cls, stages: list[int]) -> list[int]:
        if any(not 1 <= s <= 100 for s in stages):
            raise ValueError("each stage is a percent of the target, 1..100")
        if any(b <= a for a, b in zip(stages, stages[1:], strict=False)):
            raise ValueError("stages must increase")
        return stages


class RolloutCreated(Model):
    id: int
    state: str


class RolloutOut(Model):
    id: int
    release: str
    target: dict[str, object]
    stages: list[int]
    stage: int
    state: str
    min_sessions: int
    max_crash_free_drop: float
    observe_minutes: int
    reason: dict[str, object] | None
    started_at: Time
    stage_started_at: Time
    ended_at: Time | None
    offered: int
    verified: int
    switched: int
    refused: int
