"""What can go wrong in a TMS request, as exceptions the services raise and one handler turns into
`{"detail": "..."}` with the right status; and the error shape every route documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException


class TmsError(Exception):
    status = 400

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class Unauthorized(TmsError):
    status = 401


class Forbidden(TmsError):
    status = 403


class NotFound(TmsError):
    status = 404


class Conflict(TmsError):
    status = 409


class Invalid(TmsError):
    """A field that passed its format check but not the business check: 422 naming it."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Throttled(TmsError):
    status = 429


class Unavailable(TmsError):
    """A dependency (the host's registry) cannot be reached; nothing was changed."""

    status = 503


class ErrorOut(BaseModel):
    detail: str


# Every route documents these; the walk over the routes and schemathesis rely on it.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    return ".".join(parts) or "body"


def validation_detail(exc: RequestValidationError) -> str:
    """`field: message; field: message`, naming each bad field."""
    out = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(f"{_field(tuple(err.get('loc', ())))}: {msg}")
    return "; ".join(out) or "invalid request"


def install(app: FastAPI, page: Callable[[Request, TmsError], Response]) -> None:
    """Map every error to `{"detail": ...}` (`page` renders it for the pages under /ui); a
    database conflict is a 409, never a 500."""

    def reply(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(TmsError)
    async def _tms(request: Request, exc: TmsError) -> Response:
        if request.url.path.startswith("/ui"):
            return page(request, exc)
        headers = exc.headers
        if isinstance(exc, Unauthorized) and headers is None:
            headers = {"WWW-Authenticate": "Bearer"}
        return reply(exc.status, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return reply(422, validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return reply(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return reply(409, "conflicts with an existing record")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return reply(400, "a value the database cannot store")

    @app.exception_handler(OperationalError)
    async def _busy(_: Request, exc: OperationalError) -> JSONResponse:
        return reply(503, "the database is busy; try again", {"Retry-After": "1"})
