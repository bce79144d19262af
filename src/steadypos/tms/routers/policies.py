"""`/policies`: the rules (管理制度) per target, every change in the audit log."""

from __future__ import annotations

from fastapi import APIRouter

from steadypos.tms.deps import Db, Staff
from steadypos.tms.schemas.common import Page
from steadypos.tms.schemas.targets import as_dict
from steadypos.tms.schemas.upkeep import PolicyIn, PolicyOut
from steadypos.tms.services import policies

router = APIRouter(prefix="/policies", tags=["policies"])


@router.put("", response_model=PolicyOut)
def put(body: PolicyIn, db: Db, actor: Staff) -> PolicyOut:
    """Set rules for a target: `min_app_version` (offered as mandatory, locked after
    `grace_days`), `maintenance_interval_days`, `training_required`,
    `missing_after_minutes`; a rule left out keeps its value."""
    row = policies.put(db, actor, as_dict(body.target), body.rules())
    db.commit()
    return PolicyOut.model_validate(row)


@router.get("", response_model=Page[PolicyOut])
def listing(db: Db, actor: Staff) -> Page[PolicyOut]:
    rows = policies.listing(db)
    return Page[PolicyOut](items=[PolicyOut.model_validate(p) for p in rows], total=len(rows))
