"""Heartbeats: who may send one, storing it once (a heartbeat is keyed by terminal and time, so a
retry or a bus redelivery stores nothing twice), the instructions it gets back, a terminal's
reading history, and the alert for a terminal that went quiet."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steadypos.tms.actors import TERMINAL, Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Forbidden, NotFound, TmsError
from steadypos.tms.fleet_models import Heartbeat, ParamVersion, SessionCount
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.schemas.telemetry import (
    HeartbeatHour,
    HeartbeatIn,
    Instructions,
    ParamsInstruction,
    ReleaseInstruction,
)
from steadypos.tms.services import alerts, drift, fleetwatch, parameters, policies, rollouts
from steadypos.tms.services.alerts import TelemetryCause
from steadypos.tms.services.paramcheck import HOST_KNOWS

log = logging.getLogger("steadypos.tms")
DEFAULT_MISSING_MINUTES = 30
HISTORY_DAYS = 7
READINGS = ("battery_pct", "power", "cpu_temp_c", "mem_free_mb", "mem_total_mb",
            "storage_free_mb", "signal_dbm", "printer")


def sender(db: Session, actor: Actor, tid: str) -> FleetTerminal:
    """The terminal a device call speaks for: 404 unknown, 403 another terminal's token."""
    if actor.role != TERMINAL:
        raise Forbidden("only a terminal's own token may send this")
    term = db.get(FleetTerminal, tid)
    if term is None:
        raise NotFound(f"no terminal {tid}")
    if actor.tid != tid:
        raise Forbidden(f"this is the token of terminal {actor.tid}, not of {tid}")
    if term.status == TerminalState.RETIRED:
        raise Forbidden(f"terminal {tid} is retired")
    return term


def missing_minutes(db: Session, term: FleetTerminal) -> int:
    """The rules' `missing_after_minutes` for the terminal, else its template's, else 30."""
    rule = policies.effective(db, term).missing_after_minutes
    if rule is not None:
        return rule
    row = db.get(ParamVersion, term.assigned_version) if term.assigned_version else None
    return int(row.values.get("missing_after_minutes", DEFAULT_MISSING_MINUTES)) if row \
        else DEFAULT_MISSING_MINUTES


def _rows(hb: HeartbeatIn, now: datetime) -> list[Any]:
    health = hb.health.model_dump()
    rows: list[Any] = [Heartbeat(tid=hb.tid, ts=hb.ts, received_at=now,
                                 app_version=hb.app_version, params_version=hb.params_version,
                                 pending_reversals=hb.pending_reversals,
                                 open_batch=hb.open_batch, **health)]
    rows += [SessionCount(tid=hb.tid, ts=hb.ts, app_version=v, started=s.started,
                          crashed=s.crashed) for v, s in hb.sessions.items() if s.started]
    return rows


def _update(db: Session, ctx: TmsContext, term: FleetTerminal, hb: HeartbeatIn,
            now: datetime) -> None:
    previous = term.last_heartbeat
    if previous is not None and hb.ts < previous:
        return  # a late one: history only, the terminal's readings are newer
    term.last_heartbeat, term.app_version = hb.ts, hb.app_version
    term.params_version, term.health = hb.params_version, hb.health.model_dump(
        exclude_none=True)
    term.pending_reversals, term.open_batch = hb.pending_reversals, hb.open_batch
    fleetwatch.readings(db, term, term.health, hb.pending_reversals)
    term.reported_params = hb.params.model_dump(exclude_none=True) if hb.params else None
    if hb.release is not None:
        term.release_report = hb.release.model_dump(exclude_none=True)
        rollouts.record_report(db, term, hb.release.version, hb.release.state,
                               hb.release.reason, now)
    parameters.adopt(db, term)
    if term.params_push and not drift.template_fields(db, ctx, term):
        term.params_push = False  # the pushed parameters are applied
    if previous is None or hb.ts - previous > timedelta(minutes=missing_minutes(db, term)):
        alerts.clear(db, f"missing:{term.tid}")


def _add(db: Session, ctx: TmsContext, hb: HeartbeatIn, now: datetime) -> FleetTerminal | None:
    term = db.get(FleetTerminal, hb.tid)
    if term is None or db.get(Heartbeat, (hb.tid, hb.ts)) is not None:
        return None
    db.add_all(_rows(hb, now))
    _update(db, ctx, term, hb, now)
    db.flush()
    return term


def store(db: Session, ctx: TmsContext, beats: list[HeartbeatIn]) -> int:
    """Store heartbeats in one transaction (a worker hands a batch: one commit for all) and act
    on them; how many were new. One stored before, or of an unknown terminal, changes nothing."""
    now = utcnow()
    try:
        terms = [t for hb in beats if (t := _add(db, ctx, hb, now)) is not None]
        db.commit()
    except IntegrityError:  # stored meanwhile by another worker: one by one, skipping those
        db.rollback()
        if len(beats) == 1:
            return 0
        return sum(store(db, ctx, [hb]) for hb in beats)
    behind = [t for t in terms if t.status in HOST_KNOWS
              and parameters.behind(t) != t.params_flag]
    if behind:
        try:
            parameters.deliver(db, ctx, behind)
        except TmsError as exc:  # the host's flag waits for the next heartbeat; stored anyway
            db.rollback()
            log.warning("processing requirement 6 not updated at the host: %s", exc.detail)
    versions = {v for hb in beats for v in hb.sessions}
    if versions and rollouts.evaluate_running(db, ctx, versions, now):
        db.commit()
    return len(terms)


def instructions(db: Session, term: FleetTerminal, hb: HeartbeatIn) -> Instructions:
    """What the terminal should do next, from what the TMS holds and what it reported."""
    out = Instructions()
    if term.params_push or term.assigned_version != hb.params_version:
        out.parameters = ParamsInstruction(version=term.assigned_version)
    offer = rollouts.offer_for(db, term.tid)
    if offer is not None and offer[1].version != hb.app_version:
        rollout, release = offer
        out.release = ReleaseInstruction(version=release.version, sha256=release.sha256,
                                         rollout=rollout.id, signature=release.signature)
    mandatory = policies.mandatory_release(db, term) if out.release is None else None
    if mandatory is not None:  # below the rules' minimum version: rollout 0, not optional
        out.release = ReleaseInstruction(version=mandatory.version, sha256=mandatory.sha256,
                                         rollout=0, signature=mandatory.signature)
        out.actions.append("mandatory_update")
    if rollouts.rolled_back_for(db, term) is not None:
        out.actions.append("rollback")
    if any(s.crashed for s in hb.sessions.values()):
        out.actions.append("upload_logs")
    return out


def history(db: Session, tid: str, now: datetime | None = None) -> list[HeartbeatHour]:
    """The last 7 days, an hour a point: the worst of each reading, sessions and crashes."""
    since = (now or utcnow()) - timedelta(days=HISTORY_DAYS)
    hours: dict[datetime, dict[str, Any]] = {}
    for hb in db.scalars(select(Heartbeat).where(Heartbeat.tid == tid, Heartbeat.ts >= since)
                         .order_by(Heartbeat.ts)):
        hour = hb.ts.replace(minute=0, second=0, microsecond=0)
        p = hours.setdefault(hour, {"heartbeats": 0, "battery": [], "cpu": [], "mem": [],
                                    "storage": [], "signal": [], "printer": None})
        p["heartbeats"] += 1
        for key, value in (("battery", hb.battery_pct), ("cpu", hb.cpu_temp_c),
                           ("mem", hb.mem_free_mb), ("storage", hb.storage_free_mb),
                           ("signal", hb.signal_dbm)):
            if value is not None:
                p[key].append(value)
        if hb.printer and (p["printer"] in (None, "ok")):
            p["printer"] = hb.printer
    sessions: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for ts, started, crashed in db.execute(select(
            SessionCount.ts, SessionCount.started, SessionCount.crashed).where(
            SessionCount.tid == tid, SessionCount.ts >= since)):
        row = sessions[ts.replace(minute=0, second=0, microsecond=0)]
        row[0] += started
        row[1] += crashed
    return [HeartbeatHour(hour=h, heartbeats=p["heartbeats"],
                    battery_pct_min=min(p["battery"], default=None),
                    cpu_temp_c_max=max(p["cpu"], default=None),
                    mem_free_mb_min=min(p["mem"], default=None),
                    storage_free_mb_min=min(p["storage"], default=None),
                    signal_dbm_min=min(p["signal"], default=None), printer=p["printer"],
                    sessions=sessions[h][0], crashed=sessions[h][1])
            for h, p in sorted(hours.items())]


def sweep_missing(db: Session, now: datetime | None = None) -> list[str]:
    """Raise an alert for every active terminal quiet for longer than its template allows
    (`missing_after_minutes`, default 30); the TIDs newly or still missing."""
    now = now or utcnow()
    missing = []
    active = select(FleetTerminal).where(FleetTerminal.status == TerminalState.ACTIVE)
    for term in db.scalars(active):
        last = term.last_heartbeat or term.activated_at
        limit = missing_minutes(db, term)
        if last is None or now - last <= timedelta(minutes=limit):
            continue
        quiet = int((now - last).total_seconds() // 60)
        alerts.raise_alert(db, f"missing:{term.tid}", "tid", term.tid,
                           TelemetryCause.MISSING_HEARTBEAT, "low",
                           [f"no heartbeat for {quiet} minutes (allowed: {limit})"], mid=term.mid)
        missing.append(term.tid)
    db.commit()
    return missing
