"""Causes in the software and its surroundings: a defective release, an SDK that does not fit a
firmware, an app older than the fleet's minimum, wrong parameters, and an unstable network."""

from __future__ import annotations

from . import catalog as C
from .causes import Cause, signature
from .model import Break, Flow, Window


class SoftwareDefect(Cause):
    """4.3.0 parses coupon data in field 59 and trips on a missing tag; it also writes the pending
    transaction on the UI thread, which sometimes freezes the card step into an ANR."""

    label = "software_defect"

    def _active(self) -> bool:
        return self.sim.app_version == C.BAD_VERSION

    def at(self, screen: str, flow: Flow) -> Break | None:
        if screen == "card_read" and self._active() and self.chance(0.004 + 0.02 * self.k):
            exc, frames = signature("defect_anr", self.sim.spec.brand)
            return Break("anr", exc, frames, delay_ms=(5000, 9000))
        return None

    def after_answer(self, flow: Flow, phase: str, rc: str | None) -> Break | None:
        if phase == "response" and self._active() and self.chance(0.012 + 0.07 * self.k):
            exc, frames = signature("defect_field59", self.sim.spec.brand)
            return Break("crash", exc, frames, delay_ms=(40, 400))
        return None


class Compatibility(Cause):
    """The app's 4.2.1 SDK calls meet one firmware's EMV kernel or PIN pad library badly."""

    label = "compatibility"

    def at(self, screen: str, flow: Flow) -> Break | None:
        p = 0.04 + 0.25 * self.k
        chip_read = screen == "card_read" and flow.method == "chip"
        if self.variant == "compat_emv" and chip_read and self.chance(p):
            exc, frames = signature("compat_emv", self.sim.spec.brand)
            return Break("crash", exc, frames, delay_ms=(100, 900))
        if self.variant == "compat_pinpad" and screen == "pin" and self.chance(p):
            exc, frames = signature("compat_pinpad", self.sim.spec.brand)
            return Break("crash", exc, frames, delay_ms=(600, 2500))
        return None


class OutdatedSoftware(Cause):
    """A pre-4.0 app: the host rejects its contactless messages (30) and its old ISO parser dies on
    responses with a secondary bitmap, a bug fixed in 4.0."""

    label = "outdated_software"

    def answer(self, flow: Flow) -> tuple[str, str | None] | None:
        if flow.method == "contactless" and self.chance(0.25 + 0.4 * self.k):
            return "response", "30"
        if flow.kind in ("refund", "void") and self.chance(0.5):
            return "response", "30"
        return None

    def after_answer(self, flow: Flow, phase: str, rc: str | None) -> Break | None:
        if rc == "00" and self.chance(0.02 + 0.12 * self.k):
            exc, frames = signature("outdated_bitmap", self.sim.spec.brand)
            return Break("crash", exc, frames, delay_ms=(30, 300))
        return None


class ParameterMismatch(Cause):
    """A wrong parameter set (a provincial template, a test set, or one left stale) makes the host
    refuse the terminal; on 03/97/A0 the app drops to idle and signs in again."""

    label = "parameter_mismatch"
    FLASH_RCS = ("03", "97", "A0")
    SIGN_IN_RC = {"mid": "03", "tid": "97", "keys": "A0", "tpdu": "97"}

    def setup(self) -> None:
        self.field = self.rng.choice(list(C.MISMATCH_EFFECT))
        self.bad = self.variant == "stale"
        self.bad_since = 0
        self.recover_h = self.rng.uniform(2, 8) if self.k < 0.4 and self.chance(0.5) else None
        self.last_report = -10**12

    def params_applied(self, version: str) -> None:
        self.bad = version in C.PARAMS_WRONG
        self.bad_since = self.sim.t
        if self.bad:
            self.report()

    def report(self) -> None:
        if self.sim.t - self.last_report > 15 * 60_000:
            self.last_report = self.sim.t
            self.sim.emit("params", event="mismatch", version=self.sim.params_version,
                          field=self.field)

    def sign_in_rc(self) -> str:
        return self.SIGN_IN_RC[self.field] if self.bad else "00"

    def after_sign_in(self, rc: str) -> None:
        if not self.bad:
            return
        self.report()
        due = self.recover_h is not None and self.sim.t - self.bad_since > self.recover_h * 3.6e6
        if due and self.bad_since:
            good = C.PARAMS_PUSH if self.sim.day >= min(1, self.sim.days - 1) else C.PARAMS_CURRENT
            self.sim.wait(self.rng.randint(20_000, 90_000))
            self.sim.apply_params(good)
            self.sim.sign_in()

    def answer(self, flow: Flow) -> tuple[str, str | None] | None:
        if self.bad and self.chance(0.12 + 0.38 * self.k):
            rc = self.rng.choice(C.MISMATCH_EFFECT[self.field])
            return ("mac_fail", None) if rc == "mac_fail" else ("response", rc)
        return None

    def after_answer(self, flow: Flow, phase: str, rc: str | None) -> Break | None:
        if self.bad and (phase == "mac_fail" or rc in self.FLASH_RCS) and self.chance(0.65):
            return Break(None, delay_ms=(300, 1500), then=self.sim.sign_in)
        return None


class Network(Cause):
    """A weak cellular site or a flaky router: link drops and resets, timeouts; a link lost while
    a request is in flight throws the flow back to idle."""

    label = "network"

    def setup(self) -> None:
        dev = self.sim.dev
        if self.variant == "weak_signal":
            dev.signal_base = -(99 + 9 * self.k) + self.rng.uniform(-2, 2)
            dev.signal_sigma = 4.5
            dev.signal = dev.signal_base
        dev.rtt_base *= 1.5 + self.k

    def windows(self, day: int, t_open: int, t_close: int) -> list[Window]:
        rate_h = 0.15 + 1.2 * self.k
        out, t = [], t_open
        while True:
            t += int(self.rng.expovariate(rate_h) * 3.6e6)
            if t >= t_close:
                return out
            event = "reset" if self.variant == "flaky_link" and self.chance(0.6) else "down"
            out.append(Window(t, t + self.rng.randint(8_000, 120_000), "outage", {"event": event}))

    def answer(self, flow: Flow) -> tuple[str, str | None] | None:
        weak = max(0.0, -self.sim.device().radio() - 97) / 6
        if self.chance(0.01 + 0.1 * self.k * (weak + 0.3)):
            return "timeout", None
        if self.chance(0.008 + 0.04 * self.k):
            return "conn_fail", None
        return None

    def flash_on_link(self, flow: Flow) -> bool:
        return self.chance(0.55 + 0.35 * self.k)


APP_CAUSES: dict[str, type[Cause]] = {c.label: c for c in (
    SoftwareDefect, Compatibility, OutdatedSoftware, ParameterMismatch, Network)}
