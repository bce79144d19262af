"""`/heartbeats`, `/terminals/{tid}/logs` (the terminal's own token) and `/alerts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from steadypos.tms.deps import Ctx, Db, Device, User
from steadypos.tms.errors import TmsError
from steadypos.tms.schemas.common import TID_PATTERN, Page, Paging
from steadypos.tms.schemas.telemetry import AlertOut, HeartbeatIn, Instructions, LogAccepted
from steadypos.tms.services import alerts, logs, telemetry

router = APIRouter(tags=["telemetry"])
TidPath = Annotated[str, Path(pattern=TID_PATTERN)]


class Unsupported(TmsError):
    status = 415


@router.post("/heartbeats", response_model=Instructions, status_code=202)
def heartbeat(body: HeartbeatIn, db: Db, ctx: Ctx, actor: Device) -> Instructions:
    """Store the heartbeat (or hand it to the bus) and answer what the terminal should do:
    fetch parameters, take a release, upload its log."""
    term = telemetry.sender(db, actor, body.tid)
    if ctx.bus is not None:
        ctx.bus.heartbeat(body)
    else:
        telemetry.store(db, ctx, [body])
    return telemetry.instructions(db, term, body)


@router.post("/terminals/{tid}/logs", response_model=LogAccepted, status_code=202,
             openapi_extra={"requestBody": {"content": {"application/gzip": {
                 "schema": {"type": "string", "format": "binary"}}}, "required": True}})
async def upload(tid: TidPath, request: Request, db: Db, ctx: Ctx,
                 actor: Device) -> LogAccepted:
    """A gzip event log v1 (at most 64 MiB) of this terminal, diagnosed on arrival."""
    term = telemetry.sender(db, actor, tid)
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/gzip":
        raise Unsupported(f"Content-Type must be application/gzip, not {kind or 'none'}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > logs.MAX_UPLOAD:
            raise logs.TooLarge(f"the upload is larger than {logs.MAX_UPLOAD} bytes (64 MiB)")
    raw = bytes(body)
    if ctx.bus is not None:
        await run_in_threadpool(logs.check, raw, tid)
        digest = await run_in_threadpool(ctx.bus.log, tid, raw)
        return LogAccepted(id=None, sha256=digest, events=None, cause=None)
    row = await run_in_threadpool(logs.accept, db, term, raw)
    return LogAccepted(id=row.id, sha256=row.sha256, events=row.events, cause=row.cause)


@router.get("/alerts", response_model=Page[AlertOut])
def listing(db: Db, actor: User, paging: Annotated[Paging, Depends()],
            tid: Annotated[str | None, Query(pattern=TID_PATTERN)] = None,
            cleared: bool = False) -> Page[AlertOut]:
    """Open alerts (`?cleared=true`: the cleared ones too); a merchant sees its own."""
    rows, total = alerts.listing(db, actor, cleared, tid, paging.limit, paging.offset)
    return Page[AlertOut](items=[AlertOut.model_validate(a) for a in rows], total=total)
