"""The TMS as one FastAPI app: the API under /api/v1 (one router per resource, every error
documented), the pages under /ui, their vendored assets under /ui/static."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from steadypos.tms import db as tms_db
from steadypos.tms import errors, metrics
from steadypos.tms.ca import TmsCa
from steadypos.tms.context import TmsContext
from steadypos.tms.hostlink import HostLink
from steadypos.tms.pages import views as pages
from steadypos.tms.pages import web
from steadypos.tms.routers import (
    activation,
    applications,
    audit,
    auth,
    incidents,
    merchants,
    parameters,
    policies,
    releases,
    rollouts,
    telemetry,
    terminals,
    upkeep,
    users,
)
from steadypos.tms.settings import Settings
from steadypos.tms.signing import ReleaseKey

API = "/api/v1"
ROUTERS = (auth, users, applications, merchants, terminals, activation, audit, parameters,
           releases, rollouts, telemetry, incidents, upkeep, policies)
# (method, path) anyone may call without logging in. Every other route answers 401 to an
# anonymous caller: tests/tms/test_access.py walks app.routes to hold every new route to it.
PUBLIC = frozenset({
    ("POST", f"{API}/auth/token"), ("POST", f"{API}/applications"), ("POST", f"{API}/activate"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"), ("GET", "/"), ("GET", "/ui/login"), ("POST", "/ui/login"),
    ("GET", "/ui/lang/{lang}"), ("GET", "/ui/static"), ("GET", "/metrics"),
})
STATIC = Path(__file__).parent / "pages" / "static"


def open_context(settings: Settings) -> TmsContext:
    """Engine, migrations, CA and host link for `settings`: what `serve` and the tests share."""
    engine = tms_db.make_engine(settings.db)
    tms_db.migrate(engine)
    return TmsContext(settings=settings, engine=engine, sessions=tms_db.sessions(engine),
                      ca=TmsCa.load_or_create(settings.ca_dir),
                      host=HostLink(settings.db, settings.txn_limit_fen, settings.host_keys),
                      release_key=ReleaseKey.load_or_create(settings.ca_dir))


def create_app(ctx: TmsContext) -> FastAPI:
    app = FastAPI(title="steadypos TMS", version="1",
                  description="Terminal management: docs/tms-api-v1.md",
                  responses=errors.ERROR_RESPONSES)  # type: ignore[arg-type]
    app.state.tms = ctx
    errors.install(app, web.html_error)
    metrics.install(app, ctx)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API)
    app.include_router(pages.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    return app
