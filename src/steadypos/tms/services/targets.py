"""Which terminals a target names: some TIDs, a merchant's, a model's, or every one (retired
terminals never). A merchant user's targets reach its own terminals only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from steadypos.tms.errors import Invalid
from steadypos.tms.models import FleetTerminal, TerminalState


def terminals_in(db: Session, target: dict[str, Any]) -> list[FleetTerminal]:
    query = select(FleetTerminal).where(FleetTerminal.status != TerminalState.RETIRED)
    if "tids" in target:
        wanted = list(dict.fromkeys(target["tids"]))
        rows = {t.tid: t for t in db.scalars(query.where(FleetTerminal.tid.in_(wanted)))}
        missing = [tid for tid in wanted if tid not in rows]
        if missing:
            raise Invalid("target.tids", f"no such live terminal: {', '.join(missing[:5])}")
        return [rows[tid] for tid in wanted]
    if "mid" in target:
        query = query.where(FleetTerminal.mid == target["mid"])
    elif "model" in target:
        query = query.where(FleetTerminal.model == target["model"])
    return list(db.scalars(query.order_by(FleetTerminal.tid)))


def tid_select(target: dict[str, Any]) -> Select[Any]:
    """The TIDs of the target, as a subquery for aggregates over its terminals."""
    query = select(FleetTerminal.tid).where(FleetTerminal.status != TerminalState.RETIRED)
    if "tids" in target:
        return query.where(FleetTerminal.tid.in_(target["tids"]))
    if "mid" in target:
        return query.where(FleetTerminal.mid == target["mid"])
    if "model" in target:
        return query.where(FleetTerminal.model == target["model"])
    return query


def matches(target: dict[str, Any], term: FleetTerminal) -> bool:
    if "tids" in target:
        return term.tid in target["tids"]
    if "mid" in target:
        return bool(term.mid == target["mid"])
    if "model" in target:
        return bool(term.model == target["model"])
    return bool(target.get("all"))
