"""Terminals: assignment, shipping, lock / unlock / retire."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from steadypos.tms.schemas.common import Mid, Model, Text64, Time
from steadypos.tms.schemas.telemetry import HeartbeatHour


class TerminalIn(Model):
    mid: Mid
    serial: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$",
                        description="the device's serial number")
    brand: Text64
    model: Text64
    firmware: Text64
    mac_algorithm: Literal["x919", "pos_ecb"] = Field(
        "x919", description="pos-link-v1 §4: x919 unless the terminal is a legacy one")


class TerminalCreated(Model):
    tid: str
    status: str


class ShipIn(Model):
    carrier: Text64
    tracking_no: str = Field(pattern=r"^[0-9A-Za-z-]{4,40}$")


class Shipped(Model):
    tid: str
    status: str
    activation_code: str = Field(description="shown once; the TMS keeps only its hash")
    code_expires_at: Time


class StatusOut(Model):
    tid: str
    status: str


class TerminalOut(Model):
    tid: str
    mid: str
    serial: str
    brand: str
    model: str
    firmware: str
    mac_algorithm: str
    status: str
    carrier: str | None
    tracking_no: str | None
    created_at: Time
    shipped_at: Time | None
    activated_at: Time | None
    app_version: str | None = None
    params_version: int | None = None
    last_heartbeat: Time | None = None
    health: dict[str, object] | None = None
    pending_reversals: int = 0
    open_batch: int | None = None
    release_report: dict[str, object] | None = None
    open_incidents: int = 0
    history: list[HeartbeatHour] | None = Field(None, description="GET /terminals/{tid} only: the "
                                                "last 7 days of readings, an hour a point")
