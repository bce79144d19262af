"""Parameter templates: versions (numbered across templates), assignment to a target, what each
terminal fetches, and the host's processing requirement 6 while a terminal is behind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Conflict, NotFound
from steadypos.tms.fleet_models import ParamAssignment, ParamTemplate, ParamVersion
from steadypos.tms.identifiers import next_value
from steadypos.tms.models import FleetTerminal
from steadypos.tms.schemas.parameters import ParamValues
from steadypos.tms.services import paramcheck, targets
from steadypos.tms.services.paramcheck import HOST_KNOWS


def _values(values: ParamValues) -> dict[str, Any]:
    return values.model_dump(exclude_none=True)


def _new_version(db: Session, actor: Actor, template: ParamTemplate,
                 values: ParamValues) -> ParamVersion:
    row = ParamVersion(version=next_value(db, "params_version"), template_id=template.id,
                       values=_values(values), created_by=actor.name)
    db.add(row)
    template.version = row.version
    return row


def get(db: Session, template_id: int) -> ParamTemplate:
    template = db.get(ParamTemplate, template_id)
    if template is None:
        raise NotFound(f"no parameter template {template_id}")
    return template


def version(db: Session, number: int) -> ParamVersion | None:
    return db.get(ParamVersion, number) if number else None


def create(db: Session, ctx: TmsContext, actor: Actor, name: str,
           values: ParamValues) -> ParamTemplate:
    paramcheck.check_values(db, ctx, values)
    if db.scalar(select(ParamTemplate.id).where(ParamTemplate.name == name)) is not None:
        raise Conflict(f"name: a template {name!r} exists")
    template = ParamTemplate(name=name, version=0)
    db.add(template)
    db.flush()
    _new_version(db, actor, template, values)
    audit.record(db, actor.name, "params.create", "template", str(template.id), None,
                 {"name": name, "version": template.version, "values": _values(values)})
    return template


def assigned(db: Session, template_id: int) -> list[FleetTerminal]:
    return list(db.scalars(select(FleetTerminal).where(FleetTerminal.template_id == template_id)
                           .order_by(FleetTerminal.tid)))


def update(db: Session, ctx: TmsContext, actor: Actor, template_id: int,
           values: ParamValues) -> tuple[ParamTemplate, list[FleetTerminal]]:
    """A new version; every terminal assigned this template is assigned it too."""
    template = get(db, template_id)
    paramcheck.check_values(db, ctx, values)
    terms = assigned(db, template_id)
    paramcheck.check_terminals(ctx, values, terms)
    before = version(db, template.version)
    row = _new_version(db, actor, template, values)
    for term in terms:
        term.assigned_version = row.version
    audit.record(db, actor.name, "params.update", "template", str(template.id),
                 {"version": before.version, "values": before.values} if before else None,
                 {"version": row.version, "values": row.values})
    return template, terms


def assign(db: Session, ctx: TmsContext, actor: Actor, template_id: int,
           target: dict[str, Any]) -> tuple[ParamTemplate, list[FleetTerminal]]:
    template = get(db, template_id)
    current = version(db, template.version)
    assert current is not None
    terms = targets.terminals_in(db, target)
    paramcheck.check_terminals(ctx, ParamValues.model_validate(current.values), terms)
    for term in terms:
        term.template_id, term.assigned_version = template.id, current.version
    db.add(ParamAssignment(template_id=template.id, target=target, terminals=len(terms),
                           by=actor.name))
    audit.record(db, actor.name, "params.assign", "template", str(template.id), None,
                 {"version": current.version, "target": target, "terminals": len(terms)})
    return template, terms


def adopt(db: Session, term: FleetTerminal) -> None:
    """A terminal that joined a target after its assignment gets the newest matching one."""
    if term.template_id is not None:
        return
    for row in db.scalars(select(ParamAssignment).order_by(ParamAssignment.id.desc())):
        if targets.matches(row.target, term):
            template = db.get(ParamTemplate, row.template_id)
            if template is not None:
                term.template_id, term.assigned_version = template.id, template.version
            return


def for_terminal(db: Session, ctx: TmsContext, term: FleetTerminal) -> tuple[int, dict[str, Any]]:
    """(version, values) as the terminal fetches them: what activation gave it, under the
    assigned version's values."""
    values = paramcheck.defaults(ctx, term)
    row = version(db, term.assigned_version)
    if row is not None:
        values.update(row.values)
    values["tid"], values["mid"] = term.tid, term.mid
    return term.assigned_version, values


def behind(term: FleetTerminal) -> bool:
    """Whether the terminal should fetch its parameters: its reported version is not the
    assigned one, or ops pushed them again (drift repair)."""
    return term.params_push or (term.assigned_version or 0) != (term.params_version or 0)


def deliver(db: Session, ctx: TmsContext, terms: list[FleetTerminal]) -> None:
    """Tell the host which of `terms` are behind (processing requirement 6 in its answers) and
    which are not any more. Called after the TMS's own change is committed: the host is written
    first, then our record of it, so a crash between the two only repeats an idempotent write."""
    for waiting in (True, False):
        tids = [t.tid for t in terms if t.status in HOST_KNOWS and behind(t) == waiting
                and t.params_flag != waiting]
        if not tids:
            continue
        ctx.host.set_params_waiting(tids, waiting)
        for term in terms:
            if term.tid in tids:
                term.params_flag = waiting
    db.commit()


def counts(db: Session) -> dict[int, int]:
    """Terminals per template."""
    rows = db.execute(select(FleetTerminal.template_id, func.count()).where(
        FleetTerminal.template_id.is_not(None)).group_by(FleetTerminal.template_id))
    return {int(t or 0): int(n) for t, n in rows}
