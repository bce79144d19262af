"""Entries of the audit log."""

from __future__ import annotations

from typing import Any

from steadypos.tms.schemas.common import Model, Time


class AuditOut(Model):
    id: str
    at: Time
    actor: str
    action: str
    entity: str
    entity_id: str
    mid: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
