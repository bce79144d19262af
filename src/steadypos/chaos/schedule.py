"""Chaos schedules: the fault kinds as data, and the seeded plan of operations and faults that one
seed stands for. The same schedule drives the simulation and the run with real processes."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Fault kind -> what it does. The network kinds are the fault proxy's toxics.
FAULTS: dict[str, str] = {
    "latency": "answers delayed, sometimes past the terminal's timeout",
    "black_hole": "the request never reaches the host",
    "drop_response": "the host processes the request, its answer is lost",
    "reset": "the connection is reset before or after the host processed the request",
    "slice": "frames arrive in small pieces",
    "duplicate_request": "the host receives the request twice",
    "corrupt_byte": "one byte of a request or an answer is corrupted",
    "mac_corrupt": "the answer's MAC is corrupted",
    "kill_terminal": "the terminal process is SIGKILLed at a journal step",
    "kill_host": "the host is SIGKILLed mid-request and restarted",
    "disk_write_refused": "a journal write of the terminal is refused",
    "disk_full": "the terminal's disk fills up",
    "clock_midnight": "the host's clock jumps across midnight",
    "param_mismatch": "the terminal's MID or TID does not match the host's",
    "card_read_error": "the card reader fails to read",
    "printer_jam": "the printer jams after an approval",
    "host_restart": "the host restarts and loses the connections in flight",
    "forged_frame": "an outsider sends XOR-compensated forgeries of the terminal's MAC'd request "
                    "(new STAN, another amount, batch or card)",
    "stranger_admin": "a stranger sends sign-ins, a sign-out, a settlement or a batch upload in "
                      "the terminal's name, without a good MAC",
}
ATTACK_FAULTS = frozenset({"forged_frame", "stranger_admin"})
NETWORK_FAULTS = frozenset({"latency", "black_hole", "drop_response", "reset", "slice",
                            "duplicate_request", "corrupt_byte", "mac_corrupt", "kill_host",
                            "host_restart"})
ACTIONS = (("sale", 60), ("void", 12), ("refund", 12), ("balance", 6), ("settle", 10))
TERMINALS = 2
CARDS = 6  # the demo's active magstripe cards with big balances


@dataclass(frozen=True)
class Op:
    """One operation of a schedule: which terminal does what, and the fault that hits it."""

    term: int
    action: str
    card: int
    amount: int
    pin_ok: bool
    fault: str | None
    roll: int  # the fault's own dice (which step, which byte, how late, ...)

    def describe(self) -> str:
        what = f"T{self.term + 1} {self.action}"
        if self.action in ("sale", "refund"):
            what += f" {self.amount} fen card#{self.card}"
        if not self.pin_ok:
            what += " wrong PIN"
        return what + (f" + {self.fault}({self.roll})" if self.fault else "")


@dataclass(frozen=True)
class Schedule:
    seed: int
    ops: tuple[Op, ...]

    def describe(self) -> list[str]:
        return [f"{i + 1:2d}. {op.describe()}" for i, op in enumerate(self.ops)]

    def faults(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for op in self.ops:
            if op.fault:
                out[op.fault] = out.get(op.fault, 0) + 1
        return out


def make(seed: int, faults: tuple[str, ...] = tuple(FAULTS), fault_rate: float = 0.5,
         min_ops: int = 4, max_ops: int = 10) -> Schedule:
    """The schedule of one seed: the same seed always gives the same schedule."""
    rng = random.Random(seed)
    names = [a for a, _ in ACTIONS]
    weights = [w for _, w in ACTIONS]
    ops = []
    for _ in range(rng.randint(min_ops, max_ops)):
        action = rng.choices(names, weights)[0]
        fault = rng.choice(faults) if faults and rng.random() < fault_rate else None
        ops.append(Op(term=rng.randrange(TERMINALS), action=action, card=rng.randrange(CARDS),
                      amount=rng.randint(1, 50_000), pin_ok=rng.random() > 0.1, fault=fault,
                      roll=rng.randrange(1 << 30)))
    return Schedule(seed, tuple(ops))
