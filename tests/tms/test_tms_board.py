"""The fleet board's figures (services/board.py) for a merchant's little fleet whose every figure
is known, on SQLite and PostgreSQL; MTTA/MTTR from SQL against a hand computation over the
incidents loaded one by one; the bar charts' axis from zero."""

from __future__ import annotations

from datetime import timedelta

from boardkit import (
    BY_MODEL,
    BY_RELEASE,
    MTTA,
    MTTR,
    OPEN_BY_CAUSE,
    OPEN_BY_SEVERITY,
    STATUSES,
    TRAINED,
    UNTRAINED,
    little_fleet,
)
from sqlalchemy import select
from tmskit import Tms, active

from steadypos import i18n
from steadypos.tms.actors import Actor
from steadypos.tms.ops_models import Incident
from steadypos.tms.pages.bars import chart, fit, round_top
from steadypos.tms.services import alerts, board, incidents, runbooks

OPS = Actor("user:ops", "ops")


def test_the_board_of_a_merchant_holds_its_own_figures(tms: Tms) -> None:
    fleet = little_fleet(tms)
    other = tms.merchant()  # another merchant's open incident is not on this one's board
    (stranger, _), = active(tms, other)
    with tms.ctx.sessions() as db:
        alerts.raise_alert(db, f"board:{stranger}", "tid", stranger, "hardware_printer", "high",
                           ["jam"], mid=other)
        db.commit()
        got = board.gather(db, Actor(f"user:m{fleet.mid}", "merchant", mid=fleet.mid))
    assert got.terminals == STATUSES
    assert got.open_by_cause == OPEN_BY_CAUSE and got.open_by_severity == OPEN_BY_SEVERITY
    assert (got.stats["mtta_minutes"], got.stats["mttr_minutes"]) == (MTTA, MTTR) == (16.2, 120.0)
    assert (got.stats["acknowledged"], got.stats["resolved"], got.stats["total"]) == (3, 2, 5)
    assert [(r.name, r.sessions, r.crashed, r.pct) for r in got.by_release] == BY_RELEASE
    assert [(r.name, r.sessions, r.crashed, r.pct) for r in got.by_model] == BY_MODEL
    assert [(r["tid"], r["overdue_days"], r["last_maintenance"]) for r in got.overdue] == [
        (fleet.overdue_tid, 20, None)]
    assert [(g["operator"], g["errors"]) for g in got.gaps] == [(UNTRAINED, 2)]
    assert TRAINED not in {g["operator"] for g in got.gaps}


def _by_hand(rows: list[Incident]) -> tuple[float | None, float | None, int, int]:
    """MTTA/MTTR as the mean of each incident's own minutes, worked out in Python."""
    ack = [(i.acked_at - i.opened_at).total_seconds() for i in rows if i.acked_at]
    res = [(i.resolved_at - i.opened_at).total_seconds() for i in rows if i.resolved_at]
    return (round(sum(ack) / len(ack) / 60, 1) if ack else None,
            round(sum(res) / len(res) / 60, 1) if res else None, len(ack), len(res))


def test_mtta_and_mttr_in_sql_are_the_hand_computed_means(tms: Tms) -> None:
    fleet = little_fleet(tms)
    with tms.ctx.sessions() as db:  # one more, merged into a fleet incident: counted nowhere
        merged = db.get(Incident, fleet.incident_ids[0])
        assert merged is not None
        merged.acked_at = merged.opened_at + timedelta(days=30)
        merged.merged_into = fleet.incident_ids[1]
        db.commit()
        rows = list(db.scalars(select(Incident).where(Incident.merged_into.is_(None))))
        everyone = incidents.stats(db, OPS)
        mine = incidents.stats(db, Actor("user:m", "merchant", mid=fleet.mid))
    assert (everyone["mtta_minutes"], everyone["mttr_minutes"], everyone["acknowledged"],
            everyone["resolved"]) == _by_hand(rows)
    assert everyone["total"] == len(rows) == sum(everyone["by_status"].values())  # type: ignore[attr-defined]
    assert (mine["mtta_minutes"], mine["mttr_minutes"]) == (MTTA, MTTR)
    assert mine["by_status"] == {"triggered": 1, "acknowledged": 1, "resolved": 2}
    api = tms.ok("GET", "/incidents/stats")
    assert (api["mtta_minutes"], api["mttr_minutes"]) == _by_hand(rows)[:2]


def test_no_incident_gives_no_mean() -> None:
    assert incidents._minutes(None) is None and incidents._minutes(90) == 1.5


def test_every_cause_has_a_name_on_the_board() -> None:
    for lang in i18n.LANGUAGES:
        names = i18n.catalogue(lang)
        assert [c for c in runbooks.PLANS if f"board.cause.{c}" not in names] == []


def test_bars_start_at_zero_and_scale_alike() -> None:
    drawn = chart([("a", "A", 3), ("b", "B", 7), ("c", "C", 0)])
    assert round_top(7) == 10 and round_top(12) == 20 and round_top(0) == 5
    assert drawn.ticks[0] == (drawn.left, "0") and drawn.ticks[-1] == (drawn.right, "10")
    assert [b.width for b in drawn.bars] == [round(3 * (drawn.right - drawn.left) / 10, 1),
                                            round(7 * (drawn.right - drawn.left) / 10, 1), 0]
    rates = chart([("1.0.0", "1.0.0", 98.0)], 100, "%", 2)
    assert rates.bars[0].text == "98.00%" and [t for _, t in rates.ticks][::5] == ["0%", "100%"]
    assert chart([]).empty
    assert fit("Environmental interference") == "Environmental interfere…"
    assert fit("打印机故障") == "打印机故障" and fit("网" * 13) == "网" * 11 + "…"
