"""What a cause may change in a terminal's life: the hooks a flow and a day call, and the registry.

A healthy terminal is the base class: its hooks change nothing, so its flows only meet the
ordinary noise of flows.py. Each cause overrides the few hooks through which it acts.
"""

from __future__ import annotations

from . import catalog as C
from .model import Break, Flow, Window


class Cause:
    label = "none"
    swipe_share = 0.05  # customers who still carry a magnetic-stripe-only card

    def __init__(self, sim):  # the terminal's Sim (sim.py), which builds its cause
        self.sim = sim
        self.k = sim.k
        self.rng = sim.rng
        self.variant = sim.spec.variant
        self.setup()

    def setup(self) -> None:
        """Tune the device or the plan once, before the first day."""

    def windows(self, day: int, t_open: int, t_close: int) -> list[Window]:
        return []

    def at(self, screen: str, flow: Flow) -> Break | None:
        """Called on entering a flow step: amount, card, card_read, pin, pin_entered, online,
        receipt, print. A Break ends the flow there."""
        return None

    def card_error(self, flow: Flow, method: str) -> str | None:
        return None

    def adjust_rates(self, flow: Flow) -> None:
        """Change the operator's chances for this flow."""

    def answer(self, flow: Flow) -> tuple[str, str | None] | None:
        """Override the host's answer: (phase, rc)."""
        return None

    def after_answer(self, flow: Flow, phase: str, rc: str | None) -> Break | None:
        return None

    def flash_on_link(self, flow: Flow) -> bool:
        """Whether a link lost mid-flow throws the app back to idle (else it shows a result)."""
        return False

    def sign_in_rc(self) -> str:
        return "00"

    def after_sign_in(self, rc: str) -> None:
        """React to the sign-in answer."""

    def params_applied(self, version: str) -> None:
        """A parameter set was just applied."""

    def serviced(self) -> None:
        """A technician cleaned or inspected the terminal."""

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def signature(name: str, brand: str) -> tuple[str, list[str]]:
    exc, frames = C.SIGNATURES[name]
    sdk = C.VENDOR_SDK[brand]
    return exc, [f.replace("{sdk}", sdk) for f in frames]
