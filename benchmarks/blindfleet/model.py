"""Small shared records: a customer, a flow in progress, a break of a flow, a time window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Customer:
    card: str  # chip_debit, chip_credit, contactless, magstripe, qr
    amount: int  # fen
    slow: bool = False  # takes long at the PIN pad
    retries: int = 0


@dataclass
class Flow:
    kind: str  # sale, void, refund, balance
    cust: Customer
    rates: dict[str, float]
    method: str = ""
    pin: bool = False
    stan: int = 0
    screen: str = "idle"
    outcome: str = ""  # approved, declined, cancelled, broken
    rc: str = ""


@dataclass
class Break:
    """How a flow vanished: an app exit (reason, exception, frames) or a silent return to idle."""

    exit: str | None = None  # crash, anr, killed, power_loss, watchdog; None: back to idle
    exception: str | None = None
    frames: list[str] | None = None
    delay_ms: tuple[int, int] = (200, 2500)
    reboot_ms: tuple[int, int] | None = None  # device off this long (power_loss, watchdog)
    then: Callable[[], None] | None = None  # what the app does right after (sign in again)


@dataclass
class Window:
    """A stretch of time when something in the terminal's surroundings is wrong."""

    start: int
    end: int
    kind: str
    data: dict = field(default_factory=dict)
    announced: bool = False

    def covers(self, t: int) -> bool:
        return self.start <= t < self.end


class Broken(Exception):
    """Raised inside a flow when it vanishes; carries how."""

    def __init__(self, brk: Break):
        super().__init__(brk.exit or "idle")
        self.brk = brk
