"""The audit log: every change with who, when, what, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from steadypos.tms.models import AuditEntry


def record(db: Session, actor: str, action: str, entity: str, entity_id: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None,
           mid: str | None = None) -> AuditEntry:
    """Add one entry to the request's transaction: it commits with the change or not at all."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_id=entity_id, mid=mid,
                       before=before, after=after)
    db.add(entry)
    return entry
