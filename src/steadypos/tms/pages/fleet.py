"""Pages: terminals (search, filter, assign), a terminal (identity, ship, lock / unlock /
retire, history), users (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from steadypos.tms.deps import Ctx, Db
from steadypos.tms.errors import NotFound
from steadypos.tms.models import Merchant, Role, TerminalState
from steadypos.tms.pages.web import Viewer, check_csrf, form_of, parse, render, see_other
from steadypos.tms.schemas.terminals import ShipIn, TerminalIn
from steadypos.tms.schemas.users import UserIn
from steadypos.tms.services import alerts, telemetry, terminals, users
from steadypos.tms.services.terminals import TerminalFilter

router = APIRouter()
STAFF = (Role.OPS,)


@router.get("/terminals", response_class=HTMLResponse)
def terminal_list(request: Request, db: Db, actor: Viewer, mid: str = "", status: str = "",
                  model: str = "", q: str = "") -> HTMLResponse:
    wanted = TerminalFilter(mid=mid.strip() or None,
                            status=status if status in TerminalState.__members__.values()
                            else None,
                            model=model.strip()[:64] or None, q=q.strip()[:64] or None)
    rows, total = terminals.listing(db, actor, wanted, 500, 0)
    mids = [] if actor.scope_mid else list(db.scalars(select(Merchant.mid).order_by(Merchant.mid)))
    return render(request, "terminals.html", actor, rows=rows, total=total, f=wanted,
                  statuses=[s.value for s in TerminalState], mids=mids)


@router.post("/terminals")
async def assign(request: Request, db: Db, actor: Viewer) -> Response:
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    actor.require(*STAFF)
    term = terminals.assign(db, actor, parse(TerminalIn, form))
    db.commit()
    return see_other(f"/ui/terminals/{term.tid}")


def _terminal_page(request: Request, db: Db, actor: Viewer, tid: str,
                   code: str | None = None) -> HTMLResponse:
    term = terminals.get(db, actor, tid)
    return render(request, "terminal.html", actor, term=term, activation_code=code,
                  history=terminals.history(db, tid), readings=telemetry.history(db, tid),
                  alerts=alerts.listing(db, actor, False, tid, 20, 0)[0],
                  actions=[a for a, (allowed, _) in terminals.TRANSITIONS.items()
                           if term.status in allowed])


@router.get("/terminals/{tid}", response_class=HTMLResponse)
def terminal_page(request: Request, tid: str, db: Db, actor: Viewer) -> HTMLResponse:
    return _terminal_page(request, db, actor, tid)


@router.post("/terminals/{tid}/{action}", response_model=None)
async def terminal_action(request: Request, tid: str, action: str, db: Db, ctx: Ctx,
                          actor: Viewer) -> Response:
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    actor.require(*STAFF)
    if action == "ship":
        _, code = terminals.ship(db, ctx, actor, tid, parse(ShipIn, form))
        db.commit()
        # The code is on this one answer only (not in a redirect's URL, not stored in clear).
        return _terminal_page(request, db, actor, tid, code)
    if action not in terminals.TRANSITIONS:
        raise NotFound("no such page")
    terminals.change(db, ctx, actor, tid, action)
    db.commit()
    return see_other(f"/ui/terminals/{tid}")


@router.get("/users", response_class=HTMLResponse)
def user_list(request: Request, db: Db, actor: Viewer) -> HTMLResponse:
    actor.require(Role.ADMIN)
    rows, total = users.listing(db, 500, 0)
    mids = list(db.scalars(select(Merchant.mid).order_by(Merchant.mid)))
    return render(request, "users.html", actor, rows=rows, total=total, mids=mids)


@router.post("/users")
async def user_create(request: Request, db: Db, actor: Viewer) -> Response:
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    actor.require(Role.ADMIN)
    data = {**form, "mid": form.get("mid") or None}
    users.create(db, actor, parse(UserIn, data))
    db.commit()
    return see_other("/ui/users")


@router.post("/users/{user_id}/disable")
async def user_disable(request: Request, user_id: int, db: Db, actor: Viewer) -> Response:
    check_csrf(actor, (await form_of(request)).get("csrf"))
    actor.require(Role.ADMIN)
    users.disable(db, actor, user_id)
    db.commit()
    return see_other("/ui/users")
