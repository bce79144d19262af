"""Fleet-level incidents, one per scope instead of one per terminal: a merchant whose terminals
went quiet or lost their network together, a brand/model whose crash rate stands out from the
rest of the fleet, a parameter version followed by mismatches (a halted release is one already).
And the telemetry rules on each heartbeat's readings: hot, battery low, printer, reversals."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steadypos.diagnose.taxonomy import HOT_C, VITALS_PER_MODEL
from steadypos.tms.fleet_models import SessionCount
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.ops_models import Incident, IncidentState
from steadypos.tms.services import alerts, incidents
from steadypos.tms.services.runbooks import TelemetryCause

MIN_TERMINALS = 3  # a fleet incident needs at least this many terminals ...
OUTAGE_SHARE = 0.5  # ... and, for a merchant's outage, this share of its terminals
MODEL_MIN_SESSIONS = 50
MODEL_FACTOR = 2.0  # a model stands out at this many times the rest's crash rate
MODEL_WINDOW = timedelta(hours=24)
BATTERY_LOW_PCT = 10
PRINTER_FAULTS = frozenset({"jam", "head_fault", "paper_out"})
PENDING_REVERSALS = 3


def _open_tid_incidents(db: Session, causes: frozenset[str]) -> list[Incident]:
    return list(db.scalars(select(Incident).where(
        Incident.scope == "tid", Incident.status != IncidentState.RESOLVED,
        Incident.merged_into.is_(None), Incident.cause.in_(causes))))


def _raise(db: Session, key: str, scope: str, subject: str, cause: str, members: list[str],
           evidence: list[str], mid: str | None = None) -> Incident:
    alert = alerts.raise_alert(db, key, scope, subject, cause, "high", evidence, mid=mid)
    inc = _incident_of(db, alert.dedup_key)
    incidents.fold(db, inc, members)
    return inc


def _incident_of(db: Session, key: str) -> Incident:
    inc = db.scalar(select(Incident).where(Incident.dedup_key == key,
                                           Incident.status != IncidentState.RESOLVED,
                                           Incident.merged_into.is_(None)))
    assert inc is not None  # raise_alert just grouped it
    return inc


def merchant_outages(db: Session) -> list[Incident]:
    """A merchant most of whose terminals are missing or lost their network at once."""
    by_mid: dict[str, set[str]] = defaultdict(set)
    for inc in _open_tid_incidents(db, incidents.FAMILY["network"]):
        if inc.mid is not None:
            by_mid[inc.mid].add(inc.subject)
    found = []
    for mid, tids in by_mid.items():
        total = db.scalar(select(func.count()).where(
            FleetTerminal.mid == mid, FleetTerminal.status == TerminalState.ACTIVE)) or 0
        if len(tids) >= MIN_TERMINALS and len(tids) >= OUTAGE_SHARE * total:
            found.append(_raise(db, f"outage:{mid}", "mid", mid, "network", sorted(tids),
                                [f"{len(tids)} of {total} terminals missing or offline"],
                                mid=mid))
    return found


def model_crash_rates(db: Session, now: datetime) -> list[Incident]:
    """A brand/model whose crash rate over the last 24 h stands out (Android vitals: 8 % on
    one device model, and at least twice the rest of the fleet's)."""
    rows = db.execute(select(FleetTerminal.brand, FleetTerminal.model, SessionCount.tid,
                             func.sum(SessionCount.started), func.sum(SessionCount.crashed))
                      .join(FleetTerminal, FleetTerminal.tid == SessionCount.tid)
                      .where(SessionCount.ts >= now - MODEL_WINDOW)
                      .group_by(FleetTerminal.brand, FleetTerminal.model, SessionCount.tid)).all()
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    crashing: dict[str, list[str]] = defaultdict(list)
    for brand, model, tid, started, crashed in rows:
        key = f"{brand} {model}"
        per[key][0] += int(started or 0)
        per[key][1] += int(crashed or 0)
        if crashed:
            crashing[key].append(tid)
    all_started = sum(s for s, _ in per.values())
    all_crashed = sum(c for _, c in per.values())
    found = []
    for key, (started, crashed) in per.items():
        rest_s, rest_c = all_started - started, all_crashed - crashed
        rate, rest = crashed / max(started, 1), rest_c / max(rest_s, 1)
        if started >= MODEL_MIN_SESSIONS and rate >= VITALS_PER_MODEL and \
                rate >= MODEL_FACTOR * rest and len(crashing[key]) >= MIN_TERMINALS:
            found.append(_raise(db, f"model:{key}", "model", key, "compatibility",
                                crashing[key], [f"crash rate {rate:.1%} over {started} sessions "
                                                f"in 24 h; rest of the fleet {rest:.1%}"]))
    return found


def parameter_versions(db: Session) -> list[Incident]:
    """A parameter version whose terminals show mismatches: one incident for the version."""
    by_version: dict[int, list[str]] = defaultdict(list)
    for inc in _open_tid_incidents(db, frozenset({"parameter_mismatch"})):
        term = db.get(FleetTerminal, inc.subject)
        if term is not None and term.params_version is not None:
            by_version[term.params_version].append(term.tid)
    return [_raise(db, f"params:{v}", "params", str(v), "parameter_mismatch", sorted(tids),
                   [f"{len(tids)} terminals on parameter version {v} show mismatches"])
            for v, tids in by_version.items() if len(tids) >= MIN_TERMINALS]


def evaluate(db: Session, now: datetime | None = None) -> list[Incident]:
    """Every fleet rule once (the sweeper calls it each minute); the fleet incidents open."""
    now = now or utcnow()
    return merchant_outages(db) + model_crash_rates(db, now) + parameter_versions(db)


def readings(db: Session, term: FleetTerminal, health: dict[str, object],
             pending_reversals: int) -> None:
    """The telemetry rules on one heartbeat: raise what is out of bounds, clear what is back."""
    temp, battery, printer = health.get("cpu_temp_c"), health.get("battery_pct"), \
        health.get("printer")
    checks = (
        (TelemetryCause.OVERHEAT_READING, isinstance(temp, int | float) and temp > HOT_C,
         f"cpu_temp_c {temp} (over {HOT_C:.0f})"),
        (TelemetryCause.BATTERY_LOW, isinstance(battery, int) and battery < BATTERY_LOW_PCT
         and health.get("power") != "ac", f"battery {battery}% on battery power"),
        (TelemetryCause.PRINTER_FAULT, printer in PRINTER_FAULTS, f"printer {printer}"),
        (TelemetryCause.PENDING_REVERSALS, pending_reversals >= PENDING_REVERSALS,
         f"{pending_reversals} reversals pending"),
    )
    for rule, bad, text in checks:
        key = f"{rule}:{term.tid}"
        if bad:
            alerts.raise_alert(db, key, "tid", term.tid, rule, "low", [text], mid=term.mid)
        else:
            alerts.clear(db, key)
