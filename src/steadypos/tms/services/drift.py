"""Drift: terminals whose reported parameters are not the ones assigned to them, or disagree with
the host's registry, each with the fields that differ; and the push that repairs them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from steadypos.tms import audit
from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.models import FleetTerminal, TerminalState
from steadypos.tms.schemas.parameters import DriftOut, FieldDrift
from steadypos.tms.services import parameters, terminals
from steadypos.tms.services.paramcheck import HOST_KNOWS

# The values a terminal reports and the TMS compares (the rest are the TMS's own settings).
COMPARED = ("tid", "mid", "host", "port", "tpdu", "timeout_s", "txn_limit_fen", "receipt_header")


def _norm(field: str, value: Any) -> Any:
    if field == "tpdu" and isinstance(value, str):
        return value.upper()
    return value


def template_fields(db: Session, ctx: TmsContext, term: FleetTerminal) -> list[FieldDrift]:
    """Where the terminal's reported values differ from what it should run."""
    number, expected = parameters.for_terminal(db, ctx, term)
    out = []
    if number != (term.params_version or 0):
        out.append(FieldDrift(field="params_version", expected=number,
                              reported=term.params_version, source="template"))
    reported = term.reported_params
    if reported is None:
        return out
    for field in COMPARED:
        if field in expected and _norm(field, reported.get(field)) != _norm(field,
                                                                            expected[field]):
            out.append(FieldDrift(field=field, expected=expected[field],
                                  reported=reported.get(field), source="template"))
    return out


def registry_fields(term: FleetTerminal, info: Any) -> list[FieldDrift]:
    reported = term.reported_params or {}
    if info is None:
        return [FieldDrift(field="tid", expected="a terminal of the host's registry",
                           reported=term.tid, source="registry")]
    out = []
    if reported.get("mid", term.mid) != info.mid:
        out.append(FieldDrift(field="mid", expected=info.mid, reported=reported.get("mid",
                                                                                    term.mid),
                              source="registry"))
    limit = reported.get("txn_limit_fen")
    if isinstance(limit, int) and limit > info.txn_limit:
        out.append(FieldDrift(field="txn_limit_fen", expected=info.txn_limit, reported=limit,
                              source="registry"))
    return out


def drifting(db: Session, ctx: TmsContext, actor: Actor, limit: int,
             offset: int) -> tuple[list[DriftOut], int]:
    query = select(FleetTerminal).where(
        FleetTerminal.status != TerminalState.RETIRED,
        or_(FleetTerminal.reported_params.is_not(None), FleetTerminal.assigned_version != 0,
            FleetTerminal.params_version.is_not(None)))
    if actor.scope_mid is not None:
        query = query.where(FleetTerminal.mid == actor.scope_mid)
    terms = list(db.scalars(query.order_by(FleetTerminal.tid)))
    known = [t.tid for t in terms if t.status in HOST_KNOWS]
    registry = ctx.host.infos(known) if known else None
    found = []
    for term in terms:
        fields = template_fields(db, ctx, term)
        if registry is not None and term.status in HOST_KNOWS:
            fields += registry_fields(term, registry.get(term.tid))
        if fields:
            found.append(DriftOut(tid=term.tid, mid=term.mid,
                                  assigned_version=term.assigned_version,
                                  reported_version=term.params_version, fields=fields))
    return found[offset:offset + limit], len(found)


def push(db: Session, ctx: TmsContext, actor: Actor, tid: str) -> FleetTerminal:
    """Make the terminal fetch and apply its assigned parameters again: its next heartbeat's
    instructions name them and the host's answers carry processing requirement 6 until it
    reports them applied."""
    term = terminals.get(db, actor, tid)
    term.params_push = True
    audit.record(db, actor.name, "params.push", "terminal", tid, None,
                 {"version": term.assigned_version}, mid=term.mid)
    db.commit()
    parameters.deliver(db, ctx, [term])
    return term
