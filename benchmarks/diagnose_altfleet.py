"""A second fleet generator, written separately from the document with other conventions than
the project's simulator: other brands, versions and ids, second-resolution timestamps, an unknown
key on every line, fault signals emitted right before the episode, flat fault rates, no trends.
Style "B" also drops operator logins and a fifth of the terminals' inventory lines, makes outages
net-only (no txn timeouts), overheating lukewarm (76-81 °C) with random crash frames, and faults
rarer. diagnose_accuracy.py uses it to check how much the diagnosis leans on its own simulator.

    .venv/bin/python benchmarks/diagnose_altfleet.py N DAYS SEED EVENTS.jsonl LABELS.json [A|B]
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta

LABELS = (
    "software_defect", "compatibility", "outdated_software", "hardware_memory",
    "hardware_overheat", "hardware_power", "hardware_printer", "network", "parameter_mismatch",
    "environment_interference", "operator_error", "training_gap", "maintenance_overdue",
)  # fmt: skip
MODELS = (("Ingenico", "Move5000", "F1"), ("Verifone", "V240m", "9.1"), ("PAX", "S920", "2.2"),
          ("Sunmi", "P2Pro", "3.0"))  # fmt: skip
CRASHERS = ("software_defect", "compatibility", "outdated_software", "hardware_memory",
            "hardware_overheat", "hardware_power")  # fmt: skip


class _Term:
    def __init__(self, tid: str, out: list) -> None:
        self.tid = tid
        self.out = out

    def __call__(self, t: datetime, type_: str, **keys: object) -> None:
        line = {"ts": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "tid": self.tid, "type": type_, **keys}
        line["src"] = "alt"
        self.out.append((t, len(self.out), json.dumps(line)))

    def health(self, t: datetime, **over: object) -> None:
        keys: dict[str, object] = {
            "cpu_temp_c": 40.0, "mem_free_mb": 600, "mem_total_mb": 2048, "battery_pct": 90,
            "power": "ac", "printer": "ok", "signal_dbm": -70,
        }  # fmt: skip
        keys.update(over)
        self(t, "health", **keys)


def generate(n: int, days: int, seed: int, style: str = "A") -> tuple[list[str], dict[str, str]]:
    b = style == "B"
    rng = random.Random(seed)
    start = datetime(2027, 3, 1, tzinfo=UTC)
    events: list[tuple[datetime, int, str]] = []
    truth: dict[str, str] = {}
    mids = [f"MER{k}" for k in range(n // 3 + 1)]
    net_mids = set(rng.sample(mids, max(1, len(mids) // 14)))
    for i in range(n):
        tid = f"POS-{i:04d}"
        mid = rng.choice(mids)
        label = "network" if mid in net_mids else rng.choice(LABELS + ("none",) * 6)
        if label == "network" and mid not in net_mids:
            label = "none"
        brand, model, fw = ("Sunmi", "P2Pro", "3.1-beta") if label == "compatibility" \
            else rng.choice(MODELS)  # fmt: skip
        version = "v4.9.2" if label == "outdated_software" else "v5.4.0"
        age = rng.randint(220, 500) if label == "maintenance_overdue" else rng.randint(5, 150)
        maint = (start - timedelta(days=age)).date().isoformat()
        ops = [f"{tid}-A", f"{tid}-B"]
        trained = {ops[1]} if label == "training_gap" else set(ops)
        emit = _Term(tid, events)
        faults = 0
        for d in range(days):
            t = start + timedelta(days=d, hours=1, minutes=rng.randint(0, 30))
            ver = "v5.5.0" if label == "software_defect" and d >= 2 else version
            emit(t, "app", event="start", app_version=ver)
            if not (b and i % 5 == 0):
                emit(t, "inventory", brand=brand, model=model, firmware=fw, app_version=ver,
                     params_version="PV8" if label == "parameter_mismatch" else "PV7", mid=mid,
                     last_maintenance=maint)  # fmt: skip
            if d == 0:
                for op in sorted(trained):
                    emit(t, "training", operator=op, course="intro")
            op = ops[0] if rng.random() < 0.6 else ops[1]
            if not b:
                emit(t, "operator", event="login", operator=op)
            emit(t, "screen", screen="idle")
            for f in range(rng.randint(25, 45)):
                t += timedelta(minutes=rng.uniform(5, 25))
                if f % (8 if b else 4) == 0:
                    emit.health(t, cpu_temp_c=round(rng.uniform(35, 55), 1),
                                mem_free_mb=rng.randint(300, 900),
                                signal_dbm=rng.randint(-85, -60))  # fmt: skip
                t += timedelta(seconds=5)
                fault = label != "none" and rng.random() < (0.05 if b else 0.12)
                fault = fault and not (label == "software_defect" and d < 2)
                noise = rng.random() < 0.01
                emit(t, "screen", screen="amount")
                t += timedelta(seconds=4)
                emit(t, "screen", screen="card")
                t += timedelta(seconds=3)
                if fault and label in ("environment_interference", "maintenance_overdue"):
                    for _ in range(2):
                        emit(t, "card", method="swipe", ok=False,
                             error=rng.choice(["bad_read", "lrc"]))  # fmt: skip
                        t += timedelta(seconds=4)
                    if label == "environment_interference" and rng.random() < 0.5:
                        emit.health(t)
                        emit(t, "app", event="exit", reason="watchdog")
                        t += timedelta(minutes=2)
                        emit(t, "app", event="start", app_version=ver)
                    emit(t, "screen", screen="idle")
                    faults += 1
                    continue
                if fault and label in ("operator_error", "training_gap") and op == ops[0]:
                    emit(t, "card", method="swipe", ok=False, error="wrong_method")
                    t += timedelta(seconds=5)
                    emit(t, "screen", screen="idle")
                    faults += 1
                    continue
                if noise and rng.random() < 0.5:
                    emit(t, "card", method="chip", ok=False, error="chip_mute")
                    emit(t, "screen", screen="idle")
                    continue
                emit(t, "card", method="chip", ok=True, error=None)
                t += timedelta(seconds=2)
                emit(t, "screen", screen="pin")
                t += timedelta(seconds=6)
                if fault and label in CRASHERS:
                    _crash(emit, t, label, rng, b)
                    t += timedelta(minutes=1)
                    emit(t, "app", event="start", app_version=ver)
                    emit(t, "screen", screen="idle")
                    faults += 1
                    continue
                emit(t, "pin", outcome="entered")
                emit(t, "screen", screen="online")
                t += timedelta(seconds=1)
                emit(t, "txn", kind="sale", stan=f, phase="sent", amount=rng.randint(100, 99999))
                if (fault and label == "network") or (noise and rng.random() < 0.5):
                    if b:
                        emit(t, "net", event=rng.choice(["down", "reset"]), signal_dbm=-104)
                    else:
                        phase = rng.choice(["timeout", "conn_fail"])
                        emit(t, "txn", kind="sale", stan=f, phase=phase, latency_ms=30000)
                    emit(t, "screen", screen="idle")
                    faults += fault
                    continue
                if fault and label == "parameter_mismatch":
                    emit(t, "params", event="mismatch", version="PV8", field="tpdu")
                    emit(t, "txn", kind="sale", stan=f, phase="response",
                         rc=rng.choice(["03", "58", "A0", "97"]))  # fmt: skip
                    emit(t, "screen", screen="idle")
                    faults += 1
                    continue
                if fault and label == "outdated_software":
                    emit(t, "txn", kind="sale", stan=f, phase="response", rc="30")
                    emit(t, "screen", screen="idle")
                    faults += 1
                    continue
                emit(t, "txn", kind="sale", stan=f, phase="response", rc="00", latency_ms=400)
                emit(t, "screen", screen="receipt")
                if fault and label == "hardware_printer":
                    emit.health(t, printer=rng.choice(["jam", "head_fault"]))
                    emit(t, "screen", screen="idle")
                    faults += 1
                    continue
                emit(t, "screen", screen="result")
                emit(t, "screen", screen="idle")
            emit(t + timedelta(minutes=5), "app", event="exit", reason="normal")
        truth[tid] = label if faults else "none"
    events.sort(key=lambda e: (e[0], e[1]))
    return [line for _, _, line in events], truth


def _crash(emit: _Term, t: datetime, label: str, rng: random.Random, b: bool) -> None:
    if label == "hardware_memory":
        emit.health(t, cpu_temp_c=45.0, mem_free_mb=rng.randint(3, 25))
        emit(t, "app", event="exit", reason=rng.choice(["crash", "anr"]),
             exception="java.lang.OutOfMemoryError",
             frames=["cn.acme.pos.ui.Receipt.bitmap"])  # fmt: skip
    elif label == "hardware_overheat":
        emit.health(t, cpu_temp_c=round(rng.uniform(76, 81) if b else rng.uniform(78, 92), 1))
        if b:
            exc = rng.choice(["java.lang.RuntimeException", "java.lang.IllegalStateException"])
            emit(t, "app", event="exit", reason="crash", exception=exc,
                 frames=[f"cn.acme.pos.ui.X{rng.randint(1, 50)}.run"])  # fmt: skip
        else:
            emit(t, "app", event="exit", reason=rng.choice(["watchdog", "crash"]))
    elif label == "hardware_power":
        emit.health(t, battery_pct=rng.randint(0, 4), power=rng.choice(["unstable", "battery"]))
        emit(t, "app", event="exit", reason="power_loss")
    elif label == "software_defect":
        emit(t, "app", event="exit", reason="crash", exception="java.lang.ClassCastException",
             frames=["cn.acme.pos.pay.Emv.onTlv", "cn.acme.pos.pay.Flow.step"])  # fmt: skip
    elif label == "compatibility":
        frames = ["com.sunmi.pay.hardware.aidl.readCard", "cn.acme.pos.dev.Reader.open"]
        emit(t, "app", event="exit", reason="crash", exception="java.lang.UnsatisfiedLinkError",
             frames=frames)  # fmt: skip
    else:
        emit(t, "app", event="exit", reason="crash", exception="java.lang.NumberFormatException",
             frames=["cn.acme.pos.iso.Field4.pack"])  # fmt: skip


if __name__ == "__main__":
    lines, labels = generate(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                             sys.argv[6] if len(sys.argv) > 6 else "A")  # fmt: skip
    with open(sys.argv[4], "w", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in lines)
    with open(sys.argv[5], "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
