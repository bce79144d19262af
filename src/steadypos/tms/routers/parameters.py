"""`/parameter-templates`, `/drift` and a terminal's `/terminals/{tid}/parameters`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from steadypos.tms.deps import Caller, Ctx, Db, Staff, device_or_staff
from steadypos.tms.errors import NotFound
from steadypos.tms.fleet_models import ParamTemplate
from steadypos.tms.models import FleetTerminal
from steadypos.tms.schemas.common import ID_PATTERN, TID_PATTERN, Page, Paging
from steadypos.tms.schemas.parameters import (
    Assigned,
    AssignIn,
    DriftOut,
    ParamValues,
    TemplateCreated,
    TemplateIn,
    TemplateOut,
    TemplateUpdate,
    TerminalParameters,
)
from steadypos.tms.schemas.targets import as_dict
from steadypos.tms.services import drift, parameters

router = APIRouter(tags=["parameters"])
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]
TidPath = Annotated[str, Path(pattern=TID_PATTERN)]


def _out(db: Db, template: ParamTemplate, count: int) -> TemplateOut:
    row = parameters.version(db, template.version)
    assert row is not None
    return TemplateOut(id=template.id, name=template.name, version=template.version,
                       values=ParamValues.model_validate(row.values),
                       created_at=template.created_at, terminals=count)


@router.post("/parameter-templates", response_model=TemplateCreated, status_code=201)
def create(body: TemplateIn, db: Db, ctx: Ctx, actor: Staff) -> TemplateCreated:
    """A template and its first version, checked against the host and its limits."""
    template = parameters.create(db, ctx, actor, body.name, body.values)
    db.commit()
    return TemplateCreated(id=template.id, version=template.version)


@router.get("/parameter-templates", response_model=Page[TemplateOut])
def listing(db: Db, actor: Staff, paging: Annotated[Paging, Depends()]) -> Page[TemplateOut]:
    rows = list(db.query(ParamTemplate).order_by(ParamTemplate.id))
    counts = parameters.counts(db)
    page = rows[paging.offset:paging.offset + paging.limit]
    return Page[TemplateOut](items=[_out(db, t, counts.get(t.id, 0)) for t in page],
                             total=len(rows))


@router.get("/parameter-templates/{template_id}", response_model=TemplateOut)
def one(template_id: IdPath, db: Db, actor: Staff) -> TemplateOut:
    template = parameters.get(db, int(template_id))
    return _out(db, template, parameters.counts(db).get(template.id, 0))


@router.put("/parameter-templates/{template_id}", response_model=TemplateCreated)
def update(template_id: IdPath, body: TemplateUpdate, db: Db, ctx: Ctx,
           actor: Staff) -> TemplateCreated:
    """A new version, checked against every terminal the template is assigned to, which are
    then behind until they fetch it."""
    template, terms = parameters.update(db, ctx, actor, int(template_id), body.values)
    db.commit()
    parameters.deliver(db, ctx, terms)
    return TemplateCreated(id=template.id, version=template.version)


@router.post("/parameter-templates/{template_id}/assign", response_model=Assigned)
def assign(template_id: IdPath, body: AssignIn, db: Db, ctx: Ctx, actor: Staff) -> Assigned:
    template, terms = parameters.assign(db, ctx, actor, int(template_id), as_dict(body.target))
    db.commit()
    parameters.deliver(db, ctx, terms)
    return Assigned(template_id=template.id, version=template.version,
                    terminals=[t.tid for t in terms])


@router.get("/drift", response_model=Page[DriftOut])
def drifting(db: Db, ctx: Ctx, actor: Staff,
             paging: Annotated[Paging, Depends()]) -> Page[DriftOut]:
    """Terminals whose reported parameters differ from the assigned version or from the host's
    registry, with the fields that differ."""
    rows, total = drift.drifting(db, ctx, actor, paging.limit, paging.offset)
    return Page[DriftOut](items=rows, total=total)


@router.get("/terminals/{tid}/parameters", response_model=TerminalParameters)
def fetch(tid: TidPath, db: Db, ctx: Ctx, actor: Caller) -> TerminalParameters:
    """The terminal's assigned version and values (the terminal itself, or ops)."""
    device_or_staff(actor, tid)
    term = db.get(FleetTerminal, tid)
    if term is None:
        raise NotFound(f"no terminal {tid}")
    number, values = parameters.for_terminal(db, ctx, term)
    return TerminalParameters(version=number, values=values)


@router.post("/terminals/{tid}/parameters/push", response_model=TerminalParameters)
def push(tid: TidPath, db: Db, ctx: Ctx, actor: Staff) -> TerminalParameters:
    """Repair a drift: the terminal fetches and applies its assigned parameters again."""
    term = drift.push(db, ctx, actor, tid)
    number, values = parameters.for_terminal(db, ctx, term)
    return TerminalParameters(version=number, values=values)
