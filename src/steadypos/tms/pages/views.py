"""Pages: login, language, dashboard, applications (approve / reject), merchants."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from steadypos import i18n
from steadypos.tms import security
from steadypos.tms.deps import Ctx, Db
from steadypos.tms.errors import TmsError
from steadypos.tms.models import Application, AuditEntry, FleetTerminal, TerminalState, TokenKind
from steadypos.tms.pages import board as board_pages
from steadypos.tms.pages import fleet
from steadypos.tms.pages import incidents as incident_pages
from steadypos.tms.pages import parameters as parameter_pages
from steadypos.tms.pages import releases as release_pages
from steadypos.tms.pages.web import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Viewer,
    check_csrf,
    form_of,
    lang_of,
    login_page,
    parse,
    render,
    safe_next,
    see_other,
)
from steadypos.tms.routers.auth import client_of
from steadypos.tms.schemas.applications import RejectIn
from steadypos.tms.services import applications, auth, upkeep
from steadypos.tms.services import terminals as terminal_service
from steadypos.tms.services.terminals import TerminalFilter

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    return login_page(request, next_url=next)


@router.post("/login")
async def login(request: Request, db: Db, ctx: Ctx) -> Response:
    form = await form_of(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    lang = lang_of(request)
    if not expected or not security.same(expected, form.get("csrf", "")):
        return login_page(request, 403, i18n.t("login.expired", lang))
    try:
        user = auth.check_password(db, ctx.settings, form.get("username", ""),
                                   form.get("password", ""), client_of(request))
    except TmsError as exc:
        db.commit()  # the failure counts toward the throttle
        key = "login.throttled" if exc.status == 429 else "login.failed"
        return login_page(request, exc.status, i18n.t(key, lang),
                          form.get("next", "/ui/"))
    clear, _ = auth.issue(db, user, TokenKind.SESSION, ctx.settings.token_ttl)
    db.commit()
    response = see_other(safe_next(form.get("next")))
    response.set_cookie(SESSION_COOKIE, clear, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https",
                        max_age=int(ctx.settings.token_ttl.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")
    return response


@router.post("/logout")
async def logout(request: Request, db: Db, actor: Viewer) -> Response:
    check_csrf(actor, (await form_of(request)).get("csrf"))
    auth.revoke(db, request.cookies.get(SESSION_COOKIE, ""))
    db.commit()
    response = see_other("/ui/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def set_lang(lang: str, next: str = "/ui/") -> Response:
    response = see_other(safe_next(next))
    response.set_cookie(LANG_COOKIE, i18n.pick(lang), samesite="lax", path="/",
                        max_age=365 * 86400)
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: Db, actor: Viewer) -> HTMLResponse:
    by_status = select(FleetTerminal.status, func.count()).group_by(FleetTerminal.status)
    waiting = select(func.count()).where(Application.status == "submitted")
    activations = (select(AuditEntry).where(AuditEntry.action == "terminal.activate")
                   .order_by(AuditEntry.id.desc()).limit(10))
    if actor.scope_mid is not None:
        by_status = by_status.where(FleetTerminal.mid == actor.scope_mid)
        waiting = waiting.where(Application.mid == actor.scope_mid)
        activations = activations.where(AuditEntry.mid == actor.scope_mid)
    counts = {status: n for status, n in db.execute(by_status).all()}
    return render(request, "dashboard.html", actor, counts=counts,
                  statuses=[s.value for s in TerminalState],
                  waiting=db.scalar(waiting) or 0, activations=list(db.scalars(activations)),
                  overdue=len(upkeep.due(db, actor)))


@router.get("/applications", response_class=HTMLResponse)
def application_list(request: Request, db: Db, actor: Viewer,
                     status: str = "submitted") -> HTMLResponse:
    wanted = status if status in ("submitted", "approved", "rejected") else None
    rows, total = applications.listing(db, actor, wanted, 200, 0)
    return render(request, "applications.html", actor, rows=rows, total=total, status=wanted)


@router.post("/applications/{app_id}/{decision}")
async def decide(request: Request, app_id: int, decision: str, db: Db,
                 actor: Viewer) -> Response:
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    actor.require(*fleet.STAFF)
    if decision == "approve":
        applications.approve(db, actor, app_id)
    elif decision == "reject":
        reason = parse(RejectIn, form).reason
        applications.reject(db, actor, app_id, reason)
    else:
        return render(request, "error.html", actor, 404, status=404, detail="no such page")
    db.commit()
    return see_other("/ui/applications")


@router.get("/merchants", response_class=HTMLResponse)
def merchant_list(request: Request, db: Db, actor: Viewer) -> HTMLResponse:
    rows, total = applications.merchants(db, actor, 500, 0)
    return render(request, "merchants.html", actor, rows=rows, total=total)


@router.get("/merchants/{mid}", response_class=HTMLResponse)
def merchant_page(request: Request, mid: str, db: Db, actor: Viewer) -> HTMLResponse:
    merchant = applications.merchant(db, actor, mid)
    rows, _ = terminal_service.listing(db, actor, TerminalFilter(mid=mid), 500, 0)
    return render(request, "merchant.html", actor, merchant=merchant, terminals=rows)


router.include_router(fleet.router)
router.include_router(parameter_pages.router)
router.include_router(release_pages.router)
router.include_router(incident_pages.router)
router.include_router(board_pages.router)
