"""Episode detection exactly as docs/flash-exit-diagnosis.md defines it."""

from __future__ import annotations

from pathlib import Path

from diaglog import Log

from steadypos.diagnose.engine import diagnose


def _episodes(log: Log, tmp_path: Path) -> list[tuple[str, str, str]]:
    d = diagnose([str(log.write(tmp_path / "e.jsonl"))])
    return [(ep.tid, ep.screen, ep.end_kind) for ep in d.episodes]


def test_completed_declined_and_cancelled_flows_are_not_episodes(tmp_path: Path) -> None:
    log = Log()
    t = log.term("T1").ev("app", event="start", app_version="4.2.1").screen("idle")
    t.good_sale()
    t.screen("amount", "card").ev("card", method="chip", ok=True, error=None)
    t.screen("online").ev("txn", kind="sale", stan=2, phase="response", rc="51")
    t.screen("result", "idle")  # declined: result screen
    t.to_pin().ev("pin", outcome="cancelled").screen("idle")  # operator cancel
    t.screen("settings", "idle")  # not a flow
    t.screen("amount").screen("result").screen("amount", "card").screen("result", "idle")
    assert _episodes(log, tmp_path) == []


def test_each_way_a_flow_can_break(tmp_path: Path) -> None:
    log = Log()
    t = log.term("T1").ev("app", event="start", app_version="4.2.1").screen("idle")
    # 1. crash at the PIN screen
    t.to_pin().ev("app", event="exit", reason="crash", exception="java.lang.NullPointerException",
                  frames=["com.x.pay.Pin.onKey", "android.os.Looper.loop"])  # fmt: skip
    t.ev("app", event="start", app_version="4.2.1").screen("idle")
    # 2. back to idle from online after a timeout
    t.screen("amount", "card", "online").ev("txn", kind="sale", stan=3, phase="timeout")
    t.screen("idle")
    # 3. a card event with no screen, then the app restarts without an exit record
    t.ev("card", method="swipe", ok=False, error="bad_read")
    t.ev("app", event="start", app_version="4.2.1").screen("idle")
    # 4. printer jam at the receipt screen
    t.good_sale()  # fine
    t.screen("amount", "card", "pin", "online", "receipt").health(printer="jam").screen("idle")
    # 5. PIN timeout is not an operator cancel
    t.to_pin().ev("pin", outcome="timeout").screen("idle")
    # 6. watchdog at the amount screen
    t.screen("amount").ev("app", event="exit", reason="watchdog")
    t.ev("app", event="start", app_version="4.2.1")
    # 7. a normal exit mid-flow does not end it; the next start does
    t.screen("amount", "card").ev("app", event="exit", reason="normal")
    t.ev("app", event="start", app_version="4.2.1").screen("idle")
    # unfinished at the end of the log: not an episode
    t.screen("amount", "card")
    assert _episodes(log, tmp_path) == [
        ("T1", "pin", "crash"),
        ("T1", "online", "idle"),
        ("T1", "card", "restart"),
        ("T1", "receipt", "idle"),
        ("T1", "pin", "idle"),
        ("T1", "amount", "watchdog"),
        ("T1", "card", "restart"),
    ]


def test_episode_times_evidence_fields_and_interleaved_terminals(tmp_path: Path) -> None:
    log = Log()
    a = log.term("A").ev("app", event="start", app_version="4.2.1").screen("idle")
    b = log.term("B").ev("app", event="start", app_version="4.2.1").screen("idle")
    a.health(temp=83.5, mem=20)
    a.screen("amount")  # flow starts here
    start_a = log.lines[-1]
    b.screen("amount", "card", "online")
    a.screen("card")
    b.ev("txn", kind="sale", stan=1, phase="conn_fail")
    a.ev("app", event="exit", reason="crash", exception="java.lang.OutOfMemoryError",
         frames=["a.b.C.d"])  # fmt: skip
    b.screen("idle")
    # shuffle the two terminals' lines apart: each terminal's own order is what counts
    lines_a = [x for x in log.lines if '"tid": "A"' in x]
    lines_b = [x for x in log.lines if '"tid": "B"' in x]
    log.lines = lines_b + lines_a
    d = diagnose([str(log.write(tmp_path / "i.jsonl"))])
    verdicts = {v.tid: v for v in d.episodes}
    assert set(verdicts) == {"A", "B"}
    ea = verdicts["A"].episode
    assert (ea.screen, ea.end_kind, ea.exception, ea.frames) == (
        "card", "crash", "java.lang.OutOfMemoryError", ("a.b.C.d",)
    )  # fmt: skip
    assert ea.start in start_a
    assert (ea.around.temp_max, ea.around.mem_min) == (83.5, 20)
    assert verdicts["A"].cause == "hardware_memory"
    eb = verdicts["B"].episode
    assert (eb.screen, eb.end_kind, eb.phases) == ("online", "idle", ("conn_fail",))
    assert verdicts["B"].cause == "network"
