"""Builds small event logs v1 by hand for the diagnosis tests (a clock per terminal)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class Term:
    """One terminal's events; `at` advances its clock (seconds)."""

    def __init__(self, log: Log, tid: str, start: datetime = T0) -> None:
        self.log = log
        self.tid = tid
        self.now = start

    def at(self, seconds: float) -> Term:
        self.now += timedelta(seconds=seconds)
        return self

    def ts(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"

    def ev(self, type_: str, **keys: object) -> Term:
        self.log.lines.append(json.dumps({"ts": self.ts(), "tid": self.tid, "type": type_, **keys}))
        self.now += timedelta(seconds=1)
        return self

    def screen(self, *names: str) -> Term:
        for name in names:
            self.ev("screen", screen=name)
        return self

    def inventory(self, **keys: object) -> Term:
        base = {
            "brand": "PAX", "model": "A920", "firmware": "fw1", "app_version": "4.2.1",
            "params_version": "P1", "mid": "M1", "last_maintenance": "2026-10-01",
        }  # fmt: skip
        base.update(keys)
        return self.ev("inventory", **base)

    def health(self, temp: float = 40, mem: int = 500, power: str = "ac", printer: str = "ok",
               battery: int = 100, signal: int = -70) -> Term:  # fmt: skip
        return self.ev(
            "health", cpu_temp_c=temp, mem_free_mb=mem, mem_total_mb=1024, battery_pct=battery,
            power=power, printer=printer, signal_dbm=signal,
        )  # fmt: skip

    def good_sale(self) -> Term:
        self.screen("amount", "card")
        self.ev("card", method="chip", ok=True, error=None)
        self.screen("pin")
        self.ev("pin", outcome="entered")
        self.screen("online")
        self.ev("txn", kind="sale", stan=1, phase="sent", amount=1234)
        self.ev("txn", kind="sale", stan=1, phase="response", rc="00", latency_ms=300)
        return self.screen("receipt", "result", "idle")

    def to_pin(self) -> Term:
        self.screen("amount", "card")
        self.ev("card", method="chip", ok=True, error=None)
        return self.screen("pin")


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def term(self, tid: str, start: datetime = T0) -> Term:
        return Term(self, tid, start)

    def healthy(self, tid: str, sales: int = 12, version: str = "4.2.1", **inv: object) -> Term:
        """A terminal that starts, reports its inventory and health, and makes `sales` good
        sales a minute apart: the ordinary part of a fleet."""
        t = self.term(tid)
        t.ev("app", event="start", app_version=version).inventory(app_version=version, **inv)
        t.health().screen("idle")
        for _ in range(sales):
            t.good_sale().at(60)
        return t

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path
