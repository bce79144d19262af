"""What an operation of a schedule means concretely, for the simulation and the real run alike: the
demo terminals and cards, an op's card and PIN, the sale a void or refund targets, and what each
fault's roll decides (how many exchanges it hits, which step, which write, which parameter, and
with real processes which toxics of the fault proxy)."""

from __future__ import annotations

from typing import Any

from steadypos.chaos.schedule import Op
from steadypos.chaos.toxics import DOWNSTREAM, UPSTREAM, Toxic
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


def variant(roll: int, n: int) -> int:
    """A choice among n decided by the roll's bits above those `hits` reads."""
    return (roll >> 2) % n


def network_toxics(fault: str, roll: int, timeout: float) -> list[Toxic]:
    """The fault proxy's toxics for a network fault of a real run (`timeout`: the terminals')."""
    n = hits(roll)
    if fault == "latency":
        late = variant(roll, 10) < 3  # past the terminal's timeout, as often as in the sim
        return [Toxic("latency", latency_ms=timeout * 1000 + 500 if late else 300, count=n)]
    if fault == "black_hole":
        return [Toxic("black_hole", count=n)]
    if fault == "drop_response":
        return [Toxic("drop_response", count=n)]
    if fault == "reset":  # before or after the host got the request
        return [Toxic("reset", direction=(UPSTREAM, DOWNSTREAM)[variant(roll, 2)], count=n)]
    if fault == "slice":
        return [Toxic("slice", direction=(UPSTREAM, DOWNSTREAM)[variant(roll, 2)],
                      slice_bytes=1 + variant(roll, 16), slice_delay_ms=2, count=n)]
    if fault == "duplicate_request":
        # The second answer: to a repeated request the host gives the first one's answer again,
        # and of a repeated sign-in's two key sets the host keeps the second.
        return [Toxic("duplicate_request", forward="second", count=n)]
    if fault == "corrupt_byte":
        # Answers only: the host's conformance observer judges the requests that reach it, and
        # a request damaged on the way is no breach of the terminal's (the simulation judges
        # before the damage; the host's fuzz tests cover damaged requests).
        return [Toxic("corrupt_byte", count=n)]
    if fault == "mac_corrupt":
        return [Toxic("corrupt_byte", name="mac_corrupt", target="mac", count=n)]
    if fault == "kill_host":
        # The host dies before the request reaches it, while it has it, or once it answered.
        return [[Toxic("black_hole", count=1)], [],
                [Toxic("drop_response", close=True, count=1)]][variant(roll, 3)]
    return []  # host_restart: the restart itself, while the request is in flight
