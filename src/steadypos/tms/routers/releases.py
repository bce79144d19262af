"""`/releases`: signed releases, their package (for the terminals) and their health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from sqlalchemy import select

from steadypos.tms.actors import TERMINAL
from steadypos.tms.deps import Caller, Ctx, Db, Staff
from steadypos.tms.errors import Forbidden
from steadypos.tms.fleet_models import Release
from steadypos.tms.models import FleetTerminal, Role
from steadypos.tms.schemas.common import Page, Paging
from steadypos.tms.schemas.releases import ReleaseHealth, ReleaseIn, ReleaseOut
from steadypos.tms.schemas.telemetry import VERSION_PATTERN
from steadypos.tms.services import releases

router = APIRouter(prefix="/releases", tags=["releases"])
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN)]


@router.post("", response_model=ReleaseOut, status_code=201)
def create(body: ReleaseIn, db: Db, ctx: Ctx, actor: Staff) -> ReleaseOut:
    """Accept a release whose package matches its sha256, and sign it (Ed25519)."""
    release = releases.create(db, ctx, actor, body)
    db.commit()
    return ReleaseOut.model_validate(release)


@router.get("", response_model=Page[ReleaseOut])
def listing(db: Db, actor: Staff, paging: Annotated[Paging, Depends()]) -> Page[ReleaseOut]:
    rows = list(db.scalars(select(Release).order_by(Release.created_at.desc())))
    return Page[ReleaseOut](items=[ReleaseOut.model_validate(r) for r in
                                   rows[paging.offset:paging.offset + paging.limit]],
                            total=len(rows))


@router.get("/{version}", response_model=ReleaseOut)
def one(version: VersionPath, db: Db, actor: Staff) -> ReleaseOut:
    return ReleaseOut.model_validate(releases.get(db, version))


@router.get("/{version}/health", response_model=ReleaseHealth)
def health(version: VersionPath, db: Db, actor: Staff) -> ReleaseHealth:
    """Crash-free session rate, sessions and adoption share (and day by day, for the plot)."""
    return releases.health(db, version)


@router.get("/{version}/package", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def package(version: VersionPath, db: Db, actor: Caller) -> Response:
    """The package's bytes: for ops, and for a terminal the release is compatible with."""
    release = releases.get(db, version)
    if actor.role == TERMINAL:
        term = db.get(FleetTerminal, actor.tid)
        if term is None or not releases.compatible(release, term):
            raise Forbidden(f"release {version} is not for this terminal's brand, model and "
                            f"firmware")
    else:
        actor.require(Role.OPS)
    return Response(release.package, media_type="application/octet-stream",
                    headers={"X-Release-Sha256": release.sha256})
