"""Terminals from assignment to retirement: assign to a merchant, ship with a one-time activation
code, lock / unlock / retire (at the host too, through its registry)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from steadypos.tms import audit, security
from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Conflict, Invalid, NotFound
from steadypos.tms.identifiers import next_tid
from steadypos.tms.models import AuditEntry, FleetTerminal, Merchant, TerminalState, utcnow
from steadypos.tms.schemas.terminals import ShipIn, TerminalIn

S = TerminalState
# action: (states it may start from, state it leads to). Retire is final.
TRANSITIONS: dict[str, tuple[frozenset[TerminalState], TerminalState]] = {
    "lock": (frozenset({S.ACTIVE}), S.LOCKED),
    "unlock": (frozenset({S.LOCKED}), S.ACTIVE),
    "retire": (frozenset({S.ASSIGNED, S.SHIPPED, S.ACTIVE, S.LOCKED}), S.RETIRED),
}
_LIVE = (S.ASSIGNED, S.SHIPPED, S.ACTIVE, S.LOCKED)


def state(t: FleetTerminal) -> dict[str, object]:
    return {"status": t.status, "mid": t.mid, "serial": t.serial, "model": t.model,
            "firmware": t.firmware, "carrier": t.carrier, "tracking_no": t.tracking_no}


def assign(db: Session, actor: Actor, data: TerminalIn) -> FleetTerminal:
    if db.get(Merchant, data.mid) is None:
        raise Invalid("mid", f"no merchant {data.mid}")
    clash = db.scalar(select(FleetTerminal.tid).where(FleetTerminal.serial == data.serial,
                                                 FleetTerminal.status.in_(_LIVE)))
    if clash is not None:
        raise Conflict(f"serial: {data.serial} is already terminal {clash}")
    term = FleetTerminal(tid=next_tid(db), **data.model_dump())
    db.add(term)
    db.flush()
    audit.record(db, actor.name, "terminal.assign", "terminal", term.tid, None, state(term),
                 mid=term.mid)
    return term


def get(db: Session, actor: Actor, tid: str) -> FleetTerminal:
    term = db.get(FleetTerminal, tid)
    if term is None or not actor.sees(term.mid):
        raise NotFound(f"no terminal {tid}")
    return term


@dataclass(frozen=True)
class TerminalFilter:
    mid: str | None = None
    status: str | None = None
    model: str | None = None
    q: str | None = None  # part of a TID or serial


def listing(db: Session, actor: Actor, f: TerminalFilter, limit: int,
            offset: int) -> tuple[list[FleetTerminal], int]:
    query = select(FleetTerminal)
    if actor.scope_mid is not None:
        query = query.where(FleetTerminal.mid == actor.scope_mid)
    if f.mid:
        query = query.where(FleetTerminal.mid == f.mid)
    if f.status:
        query = query.where(FleetTerminal.status == f.status)
    if f.model:
        query = query.where(FleetTerminal.model == f.model)
    if f.q:
        like = f"%{f.q}%"
        query = query.where(or_(FleetTerminal.tid.like(like), FleetTerminal.serial.like(like)))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(FleetTerminal.tid).limit(limit).offset(offset)).all()
    return list(rows), total


def ship(db: Session, ctx: TmsContext, actor: Actor, tid: str, data: ShipIn) -> tuple[FleetTerminal,
                                                                                       str]:
    """The activation code in clear (shown once) and the terminal, now `shipped`."""
    term = get(db, actor, tid)
    if term.status != S.ASSIGNED:
        raise Conflict(f"terminal {tid} is {term.status}; only an assigned terminal ships")
    before = state(term)
    code = security.new_activation_code()
    term.status, term.carrier, term.tracking_no = S.SHIPPED, data.carrier, data.tracking_no
    term.code_hash = security.hash_secret(code)
    term.shipped_at = utcnow()
    term.code_expires_at = term.shipped_at + ctx.settings.code_ttl
    audit.record(db, actor.name, "terminal.ship", "terminal", tid, before, state(term),
                 mid=term.mid)
    return term, code


def change(db: Session, ctx: TmsContext, actor: Actor, tid: str, action: str) -> FleetTerminal:
    """Lock, unlock or retire. The host's registry is written first, in its own transaction,
    and the TMS's row after it: a crash between the two leaves the host ahead (a locked or
    retired terminal gets 03 at once, which is the safe side), the TMS still showing the old
    state, and a retry of the same call finds that old state, repeats the host's idempotent
    status change and then records it here."""
    allowed, target = TRANSITIONS[action]
    term = get(db, actor, tid)
    if term.status not in allowed:
        raise Conflict(f"terminal {tid} is {term.status}; cannot {action}")
    host_knows = term.activated_at is not None or term.pending_tmk is not None
    db.commit()  # end the read: the host's writer needs the database next
    if host_knows:
        ctx.host.set_status(tid, target)
    term = get(db, actor, tid)
    if term.status not in allowed:  # someone else changed it meanwhile
        raise Conflict(f"terminal {tid} is {term.status}; cannot {action}")
    before = state(term)
    term.status = target
    if target == S.RETIRED:
        term.code_hash, term.pending_tmk = None, None
    audit.record(db, actor.name, f"terminal.{action}", "terminal", tid, before, state(term),
                 mid=term.mid)
    return term


def history(db: Session, tid: str, limit: int = 200) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.entity == "terminal",
                                                    AuditEntry.entity_id == tid)
                           .order_by(AuditEntry.id.desc()).limit(limit)))
