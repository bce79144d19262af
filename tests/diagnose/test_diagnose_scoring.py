"""Causes from evidence on hand-made logs: each terminal shows one documented pattern."""

from __future__ import annotations

import pytest
from diaglog import Log, Term

from steadypos.diagnose.engine import Diagnosis, diagnose


def _restart(t: Term, version: str = "4.2.1") -> None:
    t.at(60).ev("app", event="start", app_version=version).screen("idle")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Diagnosis:
    log = Log()
    for n in range(8):  # healthy terminals on several models, all on 4.2.1
        log.healthy(f"OK{n}", brand="PAX", model=f"M{n % 3}", mid=f"MOK{n}")
    # overheat: 5 of 6 exits after cpu_temp_c 81..88
    hot = log.healthy("HOT", mid="MH")
    for temp in (81, 83, 85, 86, 88):
        hot.health(temp=temp).to_pin().ev("app", event="exit", reason="watchdog")
        _restart(hot)
    hot.at(3600).health(temp=50).to_pin().ev("app", event="exit", reason="crash")
    _restart(hot)
    # memory: free memory near zero, then OOM / killed
    mem = log.healthy("MEM", mid="MM")
    for k in range(4):
        mem.health(mem=12).to_pin()
        if k % 2:
            mem.ev("app", event="exit", reason="killed")
        else:
            mem.ev("app", event="exit", reason="crash", exception="java.lang.OutOfMemoryError",
                   frames=["com.steadypos.pay.print.Render.draw"])  # fmt: skip
        _restart(mem)
    # power: unstable power, then power_loss
    pw = log.healthy("PWR", mid="MP")
    for _ in range(3):
        pw.health(power="unstable", battery=3).to_pin().ev("app", event="exit", reason="power_loss")
        _restart(pw)
    # network: two terminals of one merchant lose the link at the same moments
    n1 = log.healthy("NET1", mid="MNET")
    n2 = log.healthy("NET2", mid="MNET")
    for _ in range(3):
        for t in (n1, n2):
            t.health(signal=-106).screen("amount", "card", "online")
            t.ev("net", event="down", signal_dbm=-108)
            t.ev("txn", kind="sale", stan=9, phase="timeout", latency_ms=30000).screen("idle")
    # parameters: new params applied, then mismatches and 39=A0/03 on the way out of online
    pm = log.healthy("PAR", mid="MPAR")
    pm.ev("params", event="applied", version="P9")
    pm.ev("params", event="mismatch", version="P9", field="keys")
    for rc in ("A0", "03", "A0"):
        pm.screen("amount", "card", "online")
        pm.ev("txn", kind="sale", stan=5, phase="response", rc=rc).screen("idle")
    # printer: jams at the receipt screen
    pr = log.healthy("PRN", mid="MPR")
    for _ in range(3):
        pr.screen("amount", "card", "online", "receipt").health(printer="jam").screen("idle")
    # maintenance overdue: old last_maintenance, card and printer wear
    mt = log.healthy("MNT", mid="MMT", last_maintenance="2025-01-10")
    for k in range(4):
        mt.screen("amount", "card").ev("card", method="chip", ok=False, error="chip_mute")
        mt.ev("card", method="chip", ok=False, error="bad_read").screen("idle")
        if k % 2:
            mt.screen("amount", "card", "online", "receipt").health(printer="head_fault")
            mt.screen("idle")
    # environment: watchdog resets with normal readings, bursts of swipe errors
    en = log.healthy("ENV", mid="MEN")
    for _ in range(3):
        en.health(temp=38).screen("amount", "card")
        for err in ("bad_read", "lrc", "bad_read"):
            en.ev("card", method="swipe", ok=False, error=err)
        en.ev("app", event="exit", reason="watchdog")
        _restart(en)
    # operators: wrong PIN then abandon; trained vs untrained
    for tid, trained in (("OPE", True), ("TRG", False)):
        op = log.healthy(tid, mid="M" + tid)
        if trained:
            op.ev("training", operator=f"{tid}-op", course="basic")
        op.ev("operator", event="login", operator=f"{tid}-op")
        for _ in range(4):
            op.to_pin().ev("pin", outcome="entered").screen("online")
            op.ev("txn", kind="sale", stan=2, phase="response", rc="55").screen("idle")
    # outdated: an old version, format errors
    od = log.healthy("OLD", version="3.6.2", mid="MOLD")
    for _ in range(3):
        od.screen("amount", "card", "online").ev("txn", kind="sale", stan=1, phase="response",
                                                 rc="30").screen("idle")  # fmt: skip
    # software defect: 4.3.0 installed, then the same NPE on three models
    for n, model in enumerate(("A920", "P2", "K9")):
        sw = log.healthy(f"SW{n}", model=model, mid=f"MSW{n}")
        sw.ev("maintenance", kind="software_update").ev("app", event="exit", reason="normal")
        _restart(sw, "4.3.0")
        for _ in range(3):
            sw.screen("amount", "card", "online").ev(
                "app", event="exit", reason="crash", exception="java.lang.NullPointerException",
                frames=["com.steadypos.pay.flow.OnlineStep.onResponse", "android.os.Looper.loop"],
            )  # fmt: skip
            _restart(sw, "4.3.0")
    # compatibility: vendor SDK crash on one brand/model/firmware, same app version fine elsewhere
    for n in range(2):
        cp = log.healthy(f"CMP{n}", brand="Newland", model="ME31", firmware="1.9.2b",
                         mid=f"MC{n}")  # fmt: skip
        for _ in range(3):
            cp.to_pin().ev(
                "app", event="exit", reason="crash", exception="java.lang.IllegalStateException",
                frames=["com.newland.sdk.emv.Emv.read", "com.steadypos.pay.device.Reader.read"],
            )  # fmt: skip
            _restart(cp)
    # healthy but noisy: one PIN timeout and one read failure
    nz = log.healthy("NOISY", mid="MNZ")
    nz.to_pin().ev("pin", outcome="timeout").screen("idle")
    nz.screen("amount", "card").ev("card", method="chip", ok=False, error="bad_read").screen("idle")
    path = log.write(tmp_path_factory.mktemp("fleet") / "fleet.jsonl")
    return diagnose([str(path)])


EXPECTED = {
    "HOT": "hardware_overheat",
    "MEM": "hardware_memory",
    "PWR": "hardware_power",
    "NET1": "network",
    "NET2": "network",
    "PAR": "parameter_mismatch",
    "PRN": "hardware_printer",
    "MNT": "maintenance_overdue",
    "ENV": "environment_interference",
    "OPE": "operator_error",
    "TRG": "training_gap",
    "OLD": "outdated_software",
    "SW0": "software_defect",
    "SW1": "software_defect",
    "SW2": "software_defect",
    "CMP0": "compatibility",
    "CMP1": "compatibility",
    "NOISY": "none",
    **{f"OK{n}": "none" for n in range(8)},
}


def test_every_label_from_its_documented_evidence(fleet: Diagnosis) -> None:
    got = {r.tid: r.cause for r in fleet.results}
    assert got == EXPECTED
    for r in fleet.results:
        assert 0.0 <= r.confidence <= 1.0
        assert r.evidence
        if r.cause != "none":
            assert r.actions


def _result(d: Diagnosis, tid: str):  # noqa: ANN202
    return next(r for r in d.results if r.tid == tid)


def test_evidence_is_the_reason_in_words(fleet: Diagnosis) -> None:
    assert "cpu_temp_c 81-88 before 5 of 6 exits" in _result(fleet, "HOT").evidence
    assert any("mem_free_mb 12-12 before" in e for e in _result(fleet, "MEM").evidence)
    assert any("other terminals lost the network" in e for e in _result(fleet, "NET1").evidence)
    assert any("params_version P9 differs" in e for e in _result(fleet, "PAR").evidence)
    assert any("TRG-op has no training record" in e for e in _result(fleet, "TRG").evidence)
    assert any("OPE-op has a training record" in e for e in _result(fleet, "OPE").evidence)
    assert any("began after app_version 4.3.0" in e for e in _result(fleet, "SW0").evidence)
    assert any("concentrated on Newland ME31 1.9.2b" in e for e in _result(fleet, "CMP0").evidence)
    assert any("last_maintenance 2025-01-10" in e for e in _result(fleet, "MNT").evidence)
    assert any("watchdog resets with normal" in e for e in _result(fleet, "ENV").evidence)
    assert _result(fleet, "OK0").evidence == ["no flash-exit in the log"]
    assert _result(fleet, "OK0").confidence == 1.0


def test_episode_causes_and_fleet_signals(fleet: Diagnosis) -> None:
    hot = [ep for ep in fleet.episodes if ep.tid == "HOT"]
    assert [ep.cause for ep in hot][:5] == ["hardware_overheat"] * 5
    ctx = fleet.ctx
    assert ctx.current_version == "4.2.1"
    assert ctx.by_version["4.3.0"].crashes == 9
    groups = {g.fingerprint: g for g in ctx.groups.values()}
    npe = groups["java.lang.NullPointerException @ com.steadypos.pay.flow.OnlineStep.onResponse"]
    assert (npe.count, len(npe.terminals)) == (9, 3)
    assert fleet.groups[npe.fingerprint].cause == "software_defect"
    sdk = groups["java.lang.IllegalStateException @ com.steadypos.pay.device.Reader.read"]
    assert (sdk.vendor, fleet.groups[sdk.fingerprint].cause) == (True, "compatibility")
