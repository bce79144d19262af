"""A target, wherever one is asked for: some TIDs, one merchant, one model, or every terminal."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from steadypos.tms.schemas.common import Mid, Model, Text64, Tid


class _Target(Model):
    model_config = ConfigDict(extra="forbid")


class TidsTarget(_Target):
    tids: Annotated[list[Tid], Field(min_length=1, max_length=10_000)]


class MidTarget(_Target):
    mid: Mid


class ModelTarget(_Target):
    model: Text64


class AllTarget(_Target):
    all: Literal[True]


Target = TidsTarget | MidTarget | ModelTarget | AllTarget


def as_dict(target: Target) -> dict[str, Any]:
    return target.model_dump()
