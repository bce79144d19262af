"""Conformance mode of the host: it provokes the hard cases (withheld answers, corrupted MACs) and
records every breach of the profile's terminal rules (§6) that the wire shows, per terminal."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from steadypos.host.service import WITHHELD, HostService, Withheld
from steadypos.protocol import mac
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import ReversalReason
from steadypos.protocol.fields import entry_mode_problem
from steadypos.protocol.mac import WEAK_MAC_NOTE, MacAlgorithm
from steadypos.protocol.messages import classify
from steadypos.protocol.mti import Mti

# The rules a terminal is checked against, as data: name -> what it means.
RULES: dict[str, str] = {
    "reversal_first": "a new request went out while a request whose answer was withheld or "
                      "MAC-corrupted was never reversed",
    "reversal_fields": "a reversal does not carry the original's STAN, amount and F60",
    "reversal_reason": "a reversal lacks the right reason in F39 (98 after a withheld answer, "
                       "A0 after a corrupted MAC)",
    "mac": "a request that needs a MAC (financial, settlement, batch upload, sign-out) without "
           "one, or with one that does not verify under the terminal's registered algorithm",
    "stan_reuse": "a STAN reused for a different transaction in a batch",
    "entry_mode": "F22 inconsistent with the fields present",
}
# Requests that must wait for a pending reversal; sign-in and echo may go first (A0 needs keys).
GATED_MTIS = frozenset({Mti.FINANCIAL, Mti.FINANCIAL_ADVICE, Mti.SETTLEMENT, Mti.BATCH_UPLOAD})


@dataclass
class RuleBreach:
    rule: str
    stan: str
    detail: str


@dataclass
class Owed:
    """A reversal the terminal owes us: what its original carried and the reason it must give."""

    stan: str
    amount: str
    f60: str
    reason: str


@dataclass
class TerminalConduct:
    checked: int = 0
    mac: str = ""  # the terminal's registered MAC algorithm, as the host knows it
    violations: list[RuleBreach] = field(default_factory=list)
    owed: dict[tuple[int, str], Owed] = field(default_factory=dict)  # (batch, stan)
    seen: dict[tuple[int, str], str] = field(default_factory=dict)  # (batch, stan) -> content


# What makes a request the same transaction: the card, what is done, the amount, the batch and
# type, the original it refers to. (Keys, MAC and merchant fields may differ on a resend.)
IDENTITY_FIELDS = (2, 3, 4, 60, 61)


def _content(msg: Message) -> str:
    ident = [msg.mti] + [msg.get(n) for n in IDENTITY_FIELDS]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()


def _batch(msg: Message) -> int:
    f60 = msg.get(60)
    return int(f60[2:8]) if len(f60) >= 8 and f60[2:8].isdigit() else -1


def corrupt_mac(resp: Message) -> Message:
    """The same answer with its MAC's first character changed: it can no longer verify."""
    bad = resp.copy()
    first = bad.fields[64][:2]
    bad.fields[64] = ("30" if first != "30" else "31") + bad.fields[64][2:]
    return bad


class RuleWatch:
    """The rule book and the dice. Thread-safe: the report may be written from a signal handler."""

    def __init__(self, withhold_rate: float = 0.0, corrupt_mac_rate: float = 0.0,
                 seed: int = 0) -> None:
        self.withhold_rate = withhold_rate
        self.corrupt_mac_rate = corrupt_mac_rate
        self.rng = random.Random(seed)
        self.terminals: dict[str, TerminalConduct] = {}
        self.provoked = {"withheld": 0, "mac_corrupted": 0}
        self._lock = threading.Lock()

    def _flag(self, rec: TerminalConduct, rule: str, stan: str, detail: str) -> None:
        rec.violations.append(RuleBreach(rule, stan, detail))

    def before(self, msg: Message, mac_ok: bool | None,
               alg: MacAlgorithm | None = None) -> None:
        """Check a request against the terminal rules before the host acts on it. `mac_ok`:
        whether its MAC verifies under a key set its terminal may use (None: nobody can tell);
        `alg`: the terminal's registered MAC algorithm."""
        tid = msg.get(41)
        if not tid:
            return
        with self._lock:
            rec = self.terminals.setdefault(tid, TerminalConduct())
            rec.checked += 1
            if alg is not None:
                rec.mac = alg.value
            stan, batch = msg.get(11), _batch(msg)
            if msg.mti == Mti.REVERSAL:
                self._check_reversal(rec, msg, stan, batch)
            elif msg.mti in GATED_MTIS and rec.owed:
                for (b, s), owed in rec.owed.items():
                    self._flag(rec, "reversal_first", stan,
                               f"{msg.mti} STAN {stan} sent while STAN {s} (batch {b:06d}) "
                               f"still owed a reversal ({owed.reason})")
            if mac.needs_mac(msg) and mac_ok is False:
                self._flag(rec, "mac", stan, f"{msg.mti} STAN {stan}: "
                           + ("no MAC" if 64 not in msg else "MAC does not verify"))
            if msg.mti in (Mti.FINANCIAL, Mti.FINANCIAL_ADVICE):
                key, content = (batch, stan), _content(msg)
                first = rec.seen.setdefault(key, content)
                if first != content:
                    self._flag(rec, "stan_reuse", stan,
                               f"STAN {stan} of batch {batch:06d} reused for other content")
            if 22 in msg and msg.mti != Mti.REVERSAL:
                problem = entry_mode_problem(msg.get(22), set(msg.fields))
                if problem:
                    self._flag(rec, "entry_mode", stan, problem)

    def _check_reversal(self, rec: TerminalConduct, msg: Message, stan: str, batch: int) -> None:
        owed = rec.owed.pop((batch, stan), None)
        if owed is None:
            return
        wrong = [name for name, got, want in (("STAN", stan, owed.stan),
                                              ("amount", msg.get(4), owed.amount),
                                              ("F60", msg.get(60), owed.f60)) if got != want]
        if wrong:
            self._flag(rec, "reversal_fields", stan, f"reversal differs from its original in "
                                                     f"{', '.join(wrong)}")
        if msg.get(39) != owed.reason:
            self._flag(rec, "reversal_reason", stan,
                       f"reason {msg.get(39) or 'missing'}, expected {owed.reason}")

    def after(self, msg: Message, resp: Message | None) -> Message | Withheld | None:
        """Decide what the terminal gets: the answer, nothing, or the answer with a bad MAC."""
        if resp is None or msg.mti != Mti.FINANCIAL:
            return resp
        mt = classify(msg)
        if mt is None or not mt.reversible:
            return resp
        with self._lock:
            roll = self.rng.random()
        if roll < self.withhold_rate:
            self.owe(msg, ReversalReason.NO_RESPONSE)
            self.provoked["withheld"] += 1
            return WITHHELD
        if 64 in resp and roll < self.withhold_rate + self.corrupt_mac_rate:
            self.owe(msg, ReversalReason.MAC_FAILED)
            self.provoked["mac_corrupted"] += 1
            return corrupt_mac(resp)
        return resp

    def owe(self, msg: Message, reason: ReversalReason) -> None:
        """The terminal that sent `msg` now owes its reversal, with this reason (98 or A0)."""
        if classify(msg) is None or not classify(msg).reversible:  # type: ignore[union-attr]
            return
        with self._lock:
            rec = self.terminals.setdefault(msg.get(41), TerminalConduct())
            rec.owed[(_batch(msg), msg.get(11))] = Owed(msg.get(11), msg.get(4), msg.get(60),
                                                        reason)

    # -- the report -------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """Per terminal: requests checked, breaches, and its MAC algorithm; a pos_ecb terminal
        (registered as legacy) is allowed, and the report says its MAC is weak."""
        with self._lock:
            return {"terminals": {
                tid: {"checked": rec.checked,
                      "violations": [asdict(v) for v in rec.violations],
                      "mac": rec.mac or None,
                      "weak_mac": rec.mac == MacAlgorithm.POS_ECB}
                for tid, rec in sorted(self.terminals.items())}}

    def summary(self) -> str:
        data = self.report()
        lines = [f"conformance: {len(data['terminals'])} terminal(s); provoked "
                 f"{self.provoked['withheld']} withheld answer(s), "
                 f"{self.provoked['mac_corrupted']} corrupted MAC(s)"]
        for tid, rec in data["terminals"].items():
            verdict = "PASS" if not rec["violations"] else f"{len(rec['violations'])} violation(s)"
            lines.append(f"  {tid}: {rec['checked']} request(s) checked, {verdict}")
            if rec["weak_mac"]:
                lines.append(f"    ! MAC pos_ecb (registered as legacy): WEAK. {WEAK_MAC_NOTE}; "
                             "register the terminal with x919 once it supports it")
            for v in rec["violations"]:
                lines.append(f"    - {v['rule']} (STAN {v['stan']}): {v['detail']}")
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.report(), indent=2) + "\n")
        tmp.replace(path)
        path.with_name(path.name + ".txt").write_text(self.summary())


class ConformanceService(HostService):
    """The host's service with the observer in front and its dice behind."""

    def __init__(self, *args: Any, observer: RuleWatch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.observer = observer

    def handle(self, msg: Message) -> Message | None:  # type: ignore[override]
        self.observer.before(msg, *self.mac_verdict(msg))
        return self.observer.after(msg, super().handle(msg))  # type: ignore[return-value]


def mode(report: Path, withhold_rate: float, corrupt_mac_rate: float,
         seed: int) -> tuple[Callable[..., HostService], Callable[[], None]]:
    """`steadypos host --conformance-report`: the service factory, and what writes the report
    (host.commands.ConformanceMode; the top-level CLI passes it in)."""
    observer = RuleWatch(withhold_rate, corrupt_mac_rate, seed)
    return functools.partial(ConformanceService, observer=observer), lambda: observer.write(report)
