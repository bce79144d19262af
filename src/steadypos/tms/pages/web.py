"""What every page needs: the session cookie and who it belongs to, CSRF checks on forms, the
language, form parsing through the API's own models, and rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from steadypos import i18n
from steadypos.tms import security
from steadypos.tms.actors import TERMINAL, Actor
from steadypos.tms.deps import Db
from steadypos.tms.errors import Forbidden, Invalid, TmsError, Unauthorized
from steadypos.tms.models import Role, TokenKind
from steadypos.tms.schemas.common import _rfc3339
from steadypos.tms.services import auth

SESSION_COOKIE = "tms_session"
LOGIN_CSRF_COOKIE = "tms_login_csrf"
LANG_COOKIE = "tms_lang"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["time"] = lambda v: _rfc3339(v) if v else ""

M = TypeVar("M", bound=BaseModel)


def lang_of(request: Request) -> str:
    return i18n.pick(request.cookies.get(LANG_COOKIE)
                     or request.headers.get("accept-language"))


def page_actor(request: Request, db: Db) -> Actor:
    """The logged-in person of the session cookie; 401 (the login page) otherwise."""
    clear = request.cookies.get(SESSION_COOKIE)
    actor = auth.resolve(db, clear, (TokenKind.SESSION,)) if clear else None
    if actor is None or actor.role == TERMINAL:
        raise Unauthorized("please log in")
    return actor


Viewer = Annotated[Actor, Depends(page_actor)]


def page_staff(actor: Viewer) -> Actor:
    """The logged-in ops (or admin) person; 403 for a merchant, before any other check."""
    return actor.require(Role.OPS)


StaffViewer = Annotated[Actor, Depends(page_staff)]


async def form_of(request: Request) -> dict[str, str]:
    """A posted form's text fields (file uploads are not taken anywhere)."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def check_csrf(actor: Actor, sent: str | None) -> None:
    if not actor.csrf or not sent or not security.same(actor.csrf, sent):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")


def parse(model: type[M], data: dict[str, Any]) -> M:
    """A form through the API's model: a bad field is the same 422 naming it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or "form"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        raise Invalid(field, message) from None


def render(request: Request, name: str, actor: Actor | None, code: int = 200,
           **values: Any) -> HTMLResponse:
    lang = lang_of(request)

    def tr(key: str, **kw: Any) -> str:
        return i18n.t(key, lang, **kw)

    return templates.TemplateResponse(request, name, {
        "t": tr, "lang": lang, "actor": actor, "csrf": actor.csrf if actor else None,
        "path": request.url.path, "query": request.url.query, **values}, status_code=code)


def login_page(request: Request, code: int = 200, error: str | None = None,
               next_url: str = "/ui/") -> HTMLResponse:
    """The login form with a fresh double-submit CSRF value (cookie and hidden field)."""
    token = security.new_token()
    page = render(request, "login.html", None, code, error=error, login_csrf=token,
                  next_url=safe_next(next_url))
    page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/ui")
    return page


def safe_next(url: str | None) -> str:
    """Only a path on this site (no `//host`): a login link cannot send people elsewhere."""
    if not url or not url.startswith("/ui") or url.startswith("//"):
        return "/ui/"
    return url


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def html_error(request: Request, exc: TmsError) -> Response:
    """A page's error: the login page for 401, otherwise the error page with the status."""
    if isinstance(exc, Unauthorized):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return login_page(request, 401, None, target if request.method == "GET" else "/ui/")
    return render(request, "error.html", None, exc.status, status=exc.status,
                  detail=exc.detail)
