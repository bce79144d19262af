"""`/activate`: the device's one call to get its identity and keys."""

from __future__ import annotations

from fastapi import APIRouter

from steadypos.tms.deps import Ctx, Db
from steadypos.tms.schemas.activation import Activated, ActivateIn
from steadypos.tms.services import activation

router = APIRouter(tags=["activation"])


@router.post("/activate", response_model=Activated)
def activate(body: ActivateIn, db: Db, ctx: Ctx) -> Activated:
    """Serial + one-time code + a fresh RSA public key and CSR → TID, MID, MAC algorithm, host
    address, the TMK under the public key (RSA-OAEP-SHA256), a client certificate (CN = TID)
    and the terminal's token. 403 for a wrong serial/code pair, 409 for a used code."""
    return activation.activate(db, ctx, body)
