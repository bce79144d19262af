"""The wear, network and operator rules of issue 15 on hand-made logs: printer faults on a
terminal overdue for maintenance that stop after a cleaning, a broken printer, a flow that stopped
at the receipt with no fault read, lone timeouts, an operator who stands out and one who does not,
errors right after a new app version."""

from __future__ import annotations

from pathlib import Path

import pytest
from diaglog import T0, Log, Term

from steadypos.diagnose.engine import Diagnosis, diagnose, track

OLD, RECENT = "2025-01-10", "2026-10-01"  # over / under 180 days before the log (2026-11-20)


def _print_stop(t: Term, fault: str | None = "jam") -> None:
    """A sale approved online that stops at the receipt screen (a printer fault read or not)."""
    t.screen("amount", "card").ev("card", method="chip", ok=True, error=None)
    t.screen("online").ev("txn", kind="sale", stan=2, phase="sent", amount=500)
    t.ev("txn", kind="sale", stan=2, phase="response", rc="00", latency_ms=300)
    t.screen("receipt")
    if fault:
        t.health(printer=fault)
    t.screen("idle").at(120)


def _abandon(t: Term, operator: str) -> None:
    """The operator swipes a chip card first, then walks away at the PIN screen."""
    t.ev("operator", event="login", operator=operator)
    t.screen("amount", "card").ev("card", method="swipe", ok=False, error="wrong_method")
    t.ev("card", method="chip", ok=True, error=None).screen("pin")
    t.ev("pin", outcome="timeout").screen("idle").at(60)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Diagnosis:
    log = Log()
    for n in range(8):
        log.healthy(f"OK{n}", mid=f"MOK{n}")
    worn = log.healthy("WORN", last_maintenance=OLD, mid="MW")  # overdue; a cleaning ends it
    for _ in range(4):
        _print_stop(worn)
    worn.at(600).ev("maintenance", kind="cleaning")
    for _ in range(14):
        worn.good_sale().at(60)
    broken = log.healthy("PRN", last_maintenance=RECENT, mid="MP")  # a printer that stays broken
    for _ in range(4):
        _print_stop(broken)
        broken.good_sale().at(60)
    bare = log.healthy("BARE", mid="MB")  # one flow stopped at the receipt, no fault read
    _print_stop(bare, fault=None)
    for tid, shown in (("LONE", False), ("LINK", True)):
        t = log.healthy(tid, mid=f"M{tid}")
        for _ in range(3):
            t.screen("amount", "card", "online").ev("txn", kind="sale", stan=3, phase="sent")
            if shown:
                t.ev("net", event="down", signal_dbm=-107)
            t.ev("txn", kind="sale", stan=3, phase="timeout", latency_ms=30000).screen("idle")
    for tid, errors in (("ONE", {"op-a": 6, "op-b": 0}), ("TWO", {"op-a": 2, "op-b": 1})):
        t = log.healthy(tid, mid=f"M{tid}")
        for op in errors:
            t.ev("training", operator=op, course="basic_sale")
        for op, k in errors.items():
            t.ev("operator", event="login", operator=op)
            for _ in range(6):
                t.good_sale().at(60)
            for _ in range(k):
                _abandon(t, op)
    new = log.healthy("NEWVER", version="4.1.0", mid="MNEW")  # trained, errors after 4.2.1
    for op in ("op-a", "op-b"):
        new.ev("training", operator=op, course="basic_sale")
    for op in ("op-a", "op-b"):
        new.ev("operator", event="login", operator=op)
        for _ in range(10):
            new.good_sale().at(60)
    new.at(600).ev("app", event="start", app_version="4.2.1").screen("idle")
    for op in ("op-a", "op-b", "op-a", "op-b"):
        _abandon(new, op)
    return diagnose([str(log.write(tmp_path_factory.mktemp("wear") / "wear.jsonl"))])


def _verdict(d: Diagnosis, tid: str):  # noqa: ANN202 - a TerminalVerdict
    return next(r for r in d.results if r.tid == tid)


def test_printer_faults_that_stop_after_a_cleaning_are_maintenance_overdue(fleet) -> None:
    v = _verdict(fleet, "WORN")
    assert v.cause == "maintenance_overdue"
    assert any("before the cleaning on 2026-11-20" in e and "0 in the 14 flows after" in e
               for e in v.evidence), v.evidence  # fmt: skip


def test_a_printer_that_stays_broken_is_hardware_printer(fleet) -> None:
    v = _verdict(fleet, "PRN")
    assert v.cause == "hardware_printer"
    assert v.family_counts["wear"] == 4.0


def test_a_receipt_stop_with_no_printer_fault_read_counts_half(fleet) -> None:
    v = _verdict(fleet, "BARE")
    assert v.family_counts["wear"] == 0.5
    assert v.cause == "none"
    said = [e for ep in fleet.episodes if ep.tid == "BARE" for e in ep.evidence]
    assert "stopped at the receipt screen with no printer fault read" in said


def test_lone_timeouts_count_half_and_a_link_that_went_down_in_full(fleet) -> None:
    lone, link = _verdict(fleet, "LONE"), _verdict(fleet, "LINK")
    assert (lone.family_counts["network"], link.family_counts["network"]) == (1.5, 3.0)
    assert link.cause == "network"


def test_one_operator_stands_out_only_beyond_the_others_rate(fleet) -> None:
    one, two = _verdict(fleet, "ONE"), _verdict(fleet, "TWO")
    assert one.cause == "operator_error"
    assert "operator op-a stands out (most of the errors)" in one.evidence
    assert not any("stands out" in e for e in two.evidence), two.evidence


def test_errors_right_after_a_new_version_are_a_training_gap(fleet) -> None:
    v = _verdict(fleet, "NEWVER")
    assert v.cause == "training_gap"
    assert any("rose after app_version 4.2.1" in e for e in v.evidence), v.evidence


def _swipe_sale(t: Term, error: str | None = None) -> None:
    """A swipe sale: approved, or (`error`) a failed read and the board resets (a watchdog
    exit with normal readings: the document's interference), then ten quiet minutes (no burst)."""
    t.screen("amount", "card")
    if error:
        t.ev("card", method="swipe", ok=False, error=error).health()
        t.ev("app", event="exit", reason="watchdog").at(30)
        t.ev("app", event="start", app_version="4.2.1").screen("idle").at(660)
        return
    t.ev("card", method="swipe", ok=True, error=None).screen("online")
    t.ev("txn", kind="sale", stan=4, phase="sent", amount=800)
    t.ev("txn", kind="sale", stan=4, phase="response", rc="00", latency_ms=300)
    t.screen("receipt", "result", "idle").at(60)


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Diagnosis:
    """24 healthy terminals over three days (chip and swipe sales) and one overdue for
    maintenance whose swipes fail more each day, in bursts with watchdog resets, while its chip
    reads stay fine: a field near the counter, not a worn reader."""
    log = Log()
    terms = [log.healthy(f"OK{n:02d}", sales=4, mid=f"MOK{n}") for n in range(24)]
    emf = log.healthy("EMF", sales=8, last_maintenance=OLD, mid="MEMF")
    for day, failed in enumerate((1, 3, 6)):
        for t in [*terms, emf]:
            t.at(86400 * day - (t.now - T0).total_seconds() + 3600)  # the next morning
            for k in range(12):
                _swipe_sale(t, "bad_read" if t is emf and k < failed else None)
                t.good_sale().at(60)
    return diagnose([str(log.write(tmp_path_factory.mktemp("field") / "field.jsonl"))])


def test_swipe_errors_of_a_field_are_no_worsening_reader_on_an_overdue_terminal(field) -> None:
    # the swipe errors rose 1 -> 6 a day on an overdue terminal: counted as the reader's wear
    # they were a "slowly worsening" reader and the verdict maintenance_overdue
    v = _verdict(field, "EMF")
    assert v.cause == "environment_interference", (v.cause, v.evidence)
    assert not any("reader errors rose" in e for e in v.evidence), v.evidence
    assert all(_verdict(field, f"OK{n:02d}").cause == "none" for n in range(24))


def test_a_cleaning_later_in_a_log_with_no_inventory_is_no_maintenance_date_before_it(
        tmp_path: Path) -> None:  # fmt: skip
    # the firmware never sent inventory; a cleaning at the end of the log dated the episodes
    # before it as maintained that day (0 days: "recent"), when their last maintenance is unknown
    log = Log()
    t = log.term("NOINV")
    t.ev("app", event="start", app_version="4.2.1").health().screen("idle")
    for _ in range(3):
        _print_stop(t)
    t.at(3600).ev("maintenance", kind="cleaning")
    _print_stop(t)
    _, terms = track([str(log.write(tmp_path / "noinv.jsonl"))])
    assert [ep.maint_date for ep in terms[0].episodes] == [None, None, None, "2026-11-20"]
