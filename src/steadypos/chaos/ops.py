"""What an operation of a schedule means concretely, for the simulation and the real run alike: the
demo terminals and cards, an op's card and PIN, the sale a void or refund targets, and what each
fault's roll decides (how many exchanges it hits, which step, which write, which parameter)."""

from __future__ import annotations

from typing import Any

from steadypos.chaos.schedule import Op
from steadypos.host import demo_data
from steadypos.terminal import steps
from steadypos.terminal.journal import Txn

# Fault kind -> the device switch it sets (see terminal.devices).
DEVICE_FAULTS: dict[str, tuple[str, str]] = {
    "card_read_error": ("reader", "bad_read"),
    "printer_jam": ("printer", "jam"),
}
# Fault kind -> the journal's disk fault (see terminal.journal).
DISK_FAULTS: dict[str, str] = {"disk_write_refused": "refused", "disk_full": "full"}


def demo_terminals() -> list[dict[str, Any]]:
    """The two terminals of a run: demo terminals T0000001 and T0000003."""
    data = demo_data.demo_data()
    return [data["terminals"][0], data["terminals"][2]]


def demo_cards() -> list[dict[str, Any]]:
    """The demo's active magstripe cards with big balances, which `Op.card` indexes."""
    return [c for c in demo_data.demo_data()["cards"]
            if c["kind"] == "magstripe" and c["status"] == "active" and c["balance"] >= 100_000]


def card_and_pin(op: Op, cards: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    card = cards[op.card % len(cards)]
    pin = card["pin"] if op.pin_ok else ("000000" if card["pin"] != "000000" else "111111")
    return card, pin


def original(op: Op, txns: list[Txn], batch: int) -> tuple[int, int] | None:
    """(STAN of the sale a void or refund targets, the amount to refund), or None when the
    terminal has nothing to void or refund."""
    sales = [t for t in txns if t.kind == "sale" and t.state == "approved" and t.batch == batch]
    if not sales:
        return None
    orig = sales[op.roll % len(sales)]
    if op.action == "refund" and orig.refunded >= orig.amount:
        return None
    return orig.stan, max(1, min(op.amount, orig.amount - orig.refunded))


def hits(roll: int) -> int:
    """How many exchanges (frames, for the proxy) a network fault hits."""
    return 1 + roll % 4


def kill_step(roll: int) -> str:
    return steps.STEPS[roll % len(steps.STEPS)]


def disk_fault(fault: str, roll: int) -> tuple[str, int]:
    """(kind, the journal write that fails)."""
    return DISK_FAULTS[fault], 1 + roll % 8


def bad_params(roll: int, cfg: dict[str, str]) -> dict[str, str]:
    """The terminal's MID or TID, made wrong."""
    if roll % 2:
        return {"mid": "898310000000000"}
    return {"tid": "X" + cfg["tid"][1:]}


def in_flow(action: str, row_written: bool) -> bool:
    """Whether an operation had a payment flow on screen: a sale's flow starts before anything
    else (the gate that may stop it included); a void's, refund's or inquiry's once its journal
    row exists. A crash then must show in the event log as an episode."""
    return action == "sale" or (action in ("void", "refund", "balance") and row_written)


def abandoned(action: str, result: str, message: str, row_written: bool) -> bool:
    """A flow that went back to idle without a result screen: the doc's episode."""
    if result in ("failed", "blocked") and in_flow(action, row_written):
        return True
    return result == "approved" and "printer" in message
