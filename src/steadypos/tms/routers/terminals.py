"""`/terminals`: assignment, shipping, lock / unlock / retire, and reading them (a merchant user
sees its own only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from steadypos.tms.deps import Ctx, Db, Staff, User
from steadypos.tms.models import FleetTerminal
from steadypos.tms.schemas.common import MID_PATTERN, TID_PATTERN, Page, Paging
from steadypos.tms.schemas.terminals import (
    ShipIn,
    Shipped,
    StatusOut,
    TerminalCreated,
    TerminalIn,
    TerminalOut,
)
from steadypos.tms.services import telemetry, terminals
from steadypos.tms.services.terminals import TerminalFilter

router = APIRouter(prefix="/terminals", tags=["terminals"])
TidPath = Annotated[str, Path(pattern=TID_PATTERN)]
Status = Literal["assigned", "shipped", "active", "locked", "retired"]


def out(t: FleetTerminal) -> TerminalOut:
    return TerminalOut.model_validate(t)


@router.post("", response_model=TerminalCreated, status_code=201)
def assign(body: TerminalIn, db: Db, actor: Staff) -> TerminalCreated:
    term = terminals.assign(db, actor, body)
    db.commit()
    return TerminalCreated(tid=term.tid, status=term.status)


@router.get("", response_model=Page[TerminalOut])
def listing(db: Db, actor: User, paging: Annotated[Paging, Depends()],
            mid: Annotated[str | None, Query(pattern=MID_PATTERN)] = None,
            status: Annotated[Status | None, Query()] = None,
            model: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f]*$")] = None,
            q: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9A-Za-z._-]*$")] = None,
            ) -> Page[TerminalOut]:
    """Search by TID or serial (`q`), filter by MID, status and model."""
    rows, total = terminals.listing(db, actor, TerminalFilter(mid, status, model, q),
                                    paging.limit, paging.offset)
    return Page[TerminalOut](items=[out(t) for t in rows], total=total)


@router.get("/{tid}", response_model=TerminalOut)
def one(tid: TidPath, db: Db, actor: User) -> TerminalOut:
    """The terminal, its last readings and their 7-day history (an hour a point)."""
    term = out(terminals.get(db, actor, tid))
    term.history = telemetry.history(db, tid)
    return term


@router.post("/{tid}/ship", response_model=Shipped)
def ship(tid: TidPath, body: ShipIn, db: Db, ctx: Ctx, actor: Staff) -> Shipped:
    """Record the shipment and make the one-time activation code (shown here once, valid 30
    days; the TMS keeps only its hash)."""
    term, code = terminals.ship(db, ctx, actor, tid, body)
    db.commit()
    assert term.code_expires_at is not None
    return Shipped(tid=term.tid, status=term.status, activation_code=code,
                   code_expires_at=term.code_expires_at)


def _change(action: str):  # type: ignore[no-untyped-def]
    def endpoint(tid: TidPath, db: Db, ctx: Ctx, actor: Staff) -> StatusOut:
        term = terminals.change(db, ctx, actor, tid, action)
        db.commit()
        return StatusOut(tid=term.tid, status=term.status)

    endpoint.__name__ = action
    endpoint.__doc__ = {"lock": "Lock: the host answers 03 until it is unlocked.",
                        "unlock": "Unlock a locked terminal.",
                        "retire": "Retire (final): the host answers 03 from now on."}[action]
    return endpoint


for _action in ("lock", "unlock", "retire"):
    router.post(f"/{{tid}}/{_action}", response_model=StatusOut)(_change(_action))
