"""Simulated devices at the TMS: a terminal reduced to what a staged rollout sees. Each one
heartbeats with sessions on the release it runs (crashing at that release's built-in rate) and
takes an offered release with the terminal's own code (sha256 + Ed25519 verified, installed
dormant, self-checked, `verified` reported, then switched). Used by the rollout test and the demo
to roll releases out to hundreds of terminals without hundreds of processes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from steadypos import __version__
from steadypos.clock import now_ts
from steadypos.terminal import releases
from steadypos.terminal.fleet import Api
from steadypos.terminal.releases import Installed

SESSIONS = 10  # per device and heartbeat
BUILT_IN_CRASH_RATE = 0.01  # the built-in app's own odd crash


@dataclass
class SimDevice:
    tid: str
    api: Api
    installed: Installed
    key: str  # the TMS's release public key (PEM), as activation gives it
    rng: random.Random
    offers: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None

    def _now(self) -> str:
        return now_ts()

    def beat(self) -> dict[str, Any]:
        """One heartbeat with this round's sessions; follows a rollback or an offer."""
        running = self.installed.active()
        version = running.version if running else __version__
        rate = running.crash_rate if running else BUILT_IN_CRASH_RATE
        crashed = sum(self.rng.random() < rate for _ in range(SESSIONS))
        body: dict[str, Any] = {
            "tid": self.tid, "ts": self._now(), "app_version": version, "params_version": 0,
            "health": {"battery_pct": 90, "printer": "ok"},
            "sessions": {version: {"started": SESSIONS, "crashed": crashed}}}
        if self.report:
            body["release"], self.report = self.report, None
        answer: dict[str, Any] = self.api.call("POST", "/heartbeats", body)
        if "rollback" in answer["actions"]:
            self.installed.rollback()
        offer = answer.get("release")
        if offer:
            self.offers.append(offer["version"])
            self.take(offer)
        return answer

    def take(self, offer: dict[str, Any]) -> None:
        raw = self.api.request("GET", f"/releases/{offer['version']}/package")
        try:
            releases.prepare(self.installed.journal, raw, offer["version"], offer["sha256"],
                             offer["signature"], self.key)
        except releases.ReleaseError as exc:
            self.report = {"version": offer["version"], "state": "refused", "reason": str(exc)}
            return
        self.report = {"version": offer["version"], "state": "verified"}
        self._report_verified()
        self.installed.switch(offer["version"])
        self.report = {"version": offer["version"], "state": "switched"}

    def _report_verified(self) -> None:
        """Say `verified` before switching (no sessions: the app has not restarted)."""
        body = {"tid": self.tid, "ts": self._now(),
                "app_version": self.installed.running_version(), "params_version": 0,
                "health": {}, "release": self.report}
        self.report = None
        self.api.call("POST", "/heartbeats", body)


def run_rollout(ops: Api, fleet: list[SimDevice], rollout: int, until: set[str],
                rounds: int) -> dict[str, Any]:
    """Heartbeat rounds of the whole fleet until the rollout's state is one of `until`; its
    last state (GET /rollouts/{id}), whatever it is after `rounds`."""
    state: dict[str, Any] = {}
    for _ in range(rounds):
        for device in fleet:
            device.beat()
        state = dict(ops.call("GET", f"/rollouts/{rollout}"))
        if state["state"] in until:
            break
    return state
