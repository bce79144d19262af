"""Pages: parameter templates (create, new version, assign to a target), a template's versions
and terminals, and the drift list with a push that repairs a terminal."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from steadypos.tms.deps import Ctx, Db
from steadypos.tms.fleet_models import ParamTemplate, ParamVersion
from steadypos.tms.pages.web import StaffViewer, check_csrf, form_of, parse, render, see_other
from steadypos.tms.schemas.common import TID_PATTERN
from steadypos.tms.schemas.parameters import AssignIn, ParamValues, TemplateIn
from steadypos.tms.schemas.targets import as_dict
from steadypos.tms.services import drift, parameters

router = APIRouter()
VALUE_FIELDS = tuple(ParamValues.model_fields)
TARGET_KINDS = ("mid", "model", "tids", "all")
TemplateId = Annotated[int, Path(ge=1, le=999_999_999)]
TidPath = Annotated[str, Path(pattern=TID_PATTERN)]


def _values(form: dict[str, str]) -> dict[str, Any]:
    """The template's fields of a form; blank ones left out (optional values keep defaults)."""
    return {k: form[k].strip() for k in VALUE_FIELDS if form.get(k, "").strip()}


def _target(form: dict[str, str]) -> dict[str, Any]:
    kind, value = form.get("target_kind", ""), form.get("target_value", "").strip()
    if kind == "all":
        return {"all": True}
    if kind == "tids":
        return {"tids": [t for t in re.split(r"[\s,]+", value) if t]}
    return {kind: value} if kind in TARGET_KINDS else {}


@router.get("/parameters", response_class=HTMLResponse)
def overview(request: Request, db: Db, ctx: Ctx, actor: StaffViewer) -> HTMLResponse:
    templates = list(db.scalars(select(ParamTemplate).order_by(ParamTemplate.id)))
    current = {t.id: parameters.version(db, t.version) for t in templates}
    drifted, total = drift.drifting(db, ctx, actor, 500, 0)
    return render(request, "parameters.html", actor, templates=templates, current=current,
                  counts=parameters.counts(db), drifted=drifted, drift_total=total,
                  fields=VALUE_FIELDS)


@router.post("/parameters")
async def create(request: Request, db: Db, ctx: Ctx, actor: StaffViewer) -> Response:
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    body = parse(TemplateIn, {"name": form.get("name", ""), "values": _values(form)})
    template = parameters.create(db, ctx, actor, body.name, body.values)
    db.commit()
    return see_other(f"/ui/parameters/{template.id}")


@router.get("/parameters/{template_id}", response_class=HTMLResponse)
def template_page(request: Request, template_id: TemplateId, db: Db,
                  actor: StaffViewer) -> HTMLResponse:
    template = parameters.get(db, template_id)
    versions = list(db.scalars(select(ParamVersion).where(
        ParamVersion.template_id == template_id).order_by(ParamVersion.version.desc())))
    return render(request, "parameter_template.html", actor, template=template,
                  versions=versions, terminals=parameters.assigned(db, template_id),
                  fields=VALUE_FIELDS, kinds=TARGET_KINDS)


@router.post("/parameters/{template_id}/{action}")
async def template_action(request: Request, template_id: TemplateId, action: str, db: Db, ctx: Ctx,
                          actor: StaffViewer) -> Response:
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    if action == "version":
        values = parse(ParamValues, _values(form))
        _, terms = parameters.update(db, ctx, actor, template_id, values)
    elif action == "assign":
        target = parse(AssignIn, {"target": _target(form)}).target
        _, terms = parameters.assign(db, ctx, actor, template_id, as_dict(target))
    else:
        return render(request, "error.html", actor, 404, status=404, detail="no such page")
    db.commit()
    parameters.deliver(db, ctx, terms)
    return see_other(f"/ui/parameters/{template_id}")


@router.post("/drift/{tid}/push")
async def push(request: Request, tid: TidPath, db: Db, ctx: Ctx,
               actor: StaffViewer) -> Response:
    check_csrf(actor, (await form_of(request)).get("csrf"))
    drift.push(db, ctx, actor, tid)
    return see_other("/ui/parameters#drift")
