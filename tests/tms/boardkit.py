"""A merchant's little fleet with every figure of the fleet board known in advance: terminals in
each state, open and closed incidents with set times (MTTA 16.2, MTTR 120.0 minutes), sessions
of two releases on two models, an overdue terminal and an untrained operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tmskit import Tms, active

from steadypos.tms.fleet_models import SessionCount
from steadypos.tms.models import utcnow
from steadypos.tms.ops_models import Incident, IncidentState, OperatorError, TrainingRecord
from steadypos.tms.services import alerts

# (cause, severity, seconds to ack, seconds to resolve) on the terminals a1, a2, a3, a1, a2.
INCIDENTS = [("hardware_printer", "high", None, None), ("hardware_printer", "high", None, None),
             ("network", "low", 750, None), ("battery_low", "low", 366, 5401),
             ("software_defect", "high", 1800, 9000)]
MTTA, MTTR = round((750 + 366 + 1800) / 3 / 60, 1), round((5401 + 9000) / 2 / 60, 1)
STATUSES = {"assigned": 1, "shipped": 1, "active": 3, "locked": 1, "retired": 0}
OPEN_BY_CAUSE = {"hardware_printer": 2, "network": 1}
OPEN_BY_SEVERITY = {"high": 2, "low": 1}
# (release, sessions, crashed, crash-free %), (brand model, ...), within the board's window.
BY_RELEASE = [("1.0.0", 200, 4, 98.0), ("1.1.0", 50, 5, 90.0)]
BY_MODEL = [("PAX A80", 50, 5, 90.0), ("PAX A920", 200, 4, 98.0)]
UNTRAINED, TRAINED = "cashier-07", "cashier-02"


@dataclass(frozen=True)
class LittleFleet:
    mid: str
    overdue_tid: str  # activated 200 days ago, never maintained: 20 days past 180
    tids: list[str]  # the three active terminals a1, a2, a3
    incident_ids: list[int]


def little_fleet(tms: Tms) -> LittleFleet:
    mid = tms.merchant()
    now = utcnow()
    (a1, _), = active(tms, mid, 1, activated_at=now - timedelta(days=200))
    (a2, _), = active(tms, mid, 1)
    (a3, _), = active(tms, mid, 1, model="A80")
    active(tms, mid, 1, status="locked")
    tms.terminal(mid)
    tms.shipped(mid)
    ids = []
    with tms.ctx.sessions() as db:
        for tid, (cause, severity, ack_s, res_s) in zip((a1, a2, a3, a1, a2), INCIDENTS,
                                                         strict=True):
            alerts.raise_alert(db, f"board:{tid}:{cause}", "tid", tid, cause, severity,
                               [f"{cause} seen"], mid=mid)
            inc = db.query(Incident).filter(Incident.dedup_key == f"board:{tid}:{cause}").one()
            inc.opened_at = now - timedelta(days=3)
            if ack_s is not None:
                inc.acked_at, inc.status = inc.opened_at + timedelta(seconds=ack_s), \
                    IncidentState.ACKNOWLEDGED
            if res_s is not None:
                inc.resolved_at, inc.status = inc.opened_at + timedelta(seconds=res_s), \
                    IncidentState.RESOLVED
            ids.append(inc.id)
        for tid, version, started, crashed, ago in (
                (a1, "1.0.0", 100, 4, timedelta(hours=1)), (a2, "1.0.0", 100, 0,
                                                             timedelta(hours=2)),
                (a3, "1.1.0", 50, 5, timedelta(days=1)), (a1, "0.9.0", 10, 10,
                                                          timedelta(days=20))):
            db.add(SessionCount(tid=tid, ts=now - ago, app_version=version, started=started,
                                crashed=crashed))
        for operator, tid in ((UNTRAINED, a1), (UNTRAINED, a2), (TRAINED, a3)):
            db.add(OperatorError(operator=operator, tid=tid, mid=mid, cause="operator_error",
                                 upload_id=0, at=now - timedelta(hours=5)))
        db.add(TrainingRecord(operator=TRAINED, mid=mid, course="counter basics", score=92,
                              source="manual", done_at=now, by="user:ops"))
        db.commit()
    return LittleFleet(mid, a1, [a1, a2, a3], ids)
