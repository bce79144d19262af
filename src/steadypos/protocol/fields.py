"""Structured fields of the profile: F22 entry modes, F60, F61, F48 totals and records, F54."""

from __future__ import annotations

from dataclasses import dataclass

from steadypos.protocol.errors import ProtocolError


@dataclass(frozen=True)
class EntryMethod:
    name: str
    needs: frozenset[int]
    forbids: frozenset[int]


# F22 methods: the fields each entry method needs and must not carry (§3).
ENTRY_METHODS: dict[str, EntryMethod] = {
    "02": EntryMethod("swipe", frozenset({35}), frozenset({55})),
    "05": EntryMethod("chip", frozenset({23, 55}), frozenset()),
    "07": EntryMethod("contactless", frozenset({55}), frozenset()),
    # Manual key entry: voids and refunds the terminal sends from its journal, without a card.
    "01": EntryMethod("manual", frozenset({14}), frozenset({35, 55})),
    "03": EntryMethod("qr", frozenset(), frozenset({14, 35, 52, 53, 55})),
}
PIN_DIGIT_FIELDS = {"1": frozenset({52, 53}), "2": frozenset()}


def entry_mode_problem(f22: str, present: set[int]) -> str | None:
    """Why F22 does not fit the fields present, or None when it does."""
    method, pin = f22[:2], f22[2:3]
    rule = ENTRY_METHODS.get(method)
    if rule is None or pin not in PIN_DIGIT_FIELDS:
        return f"F22 {f22} is not a known entry mode"
    missing = set(rule.needs) - present
    if missing:
        return f"F22 {f22} needs field(s) {sorted(missing)}"
    extra = set(rule.forbids) & present
    if extra:
        return f"F22 {f22} must not carry field(s) {sorted(extra)}"
    if pin == "1" and not PIN_DIGIT_FIELDS["1"] <= present:
        return f"F22 {f22} says PIN entered but 52/53 are missing"
    if pin == "2" and 52 in present:
        return f"F22 {f22} says no PIN but 52 is present"
    return None


@dataclass(frozen=True)
class Field60:
    """60.1 message type, 60.2 batch, 60.3 network code; anything after is kept and ignored."""

    type: str
    batch: int
    network: str = ""
    rest: str = ""

    @classmethod
    def parse(cls, raw: str) -> Field60:
        if len(raw) < 8 or not raw.isdigit():
            raise ProtocolError(f"F60 {raw!r} needs 60.1 (2) and 60.2 (6 digits)", "field 60")
        return cls(raw[:2], int(raw[2:8]), raw[8:11], raw[11:])

    def format(self) -> str:
        return f"{self.type}{self.batch:06d}{self.network}{self.rest}"


@dataclass(frozen=True)
class Field61:
    batch: int
    stan: int
    date: str = ""

    @classmethod
    def parse(cls, raw: str) -> Field61:
        if len(raw) < 12 or not raw.isdigit():
            raise ProtocolError(f"F61 {raw!r} needs batch (6) and STAN (6)", "field 61")
        return cls(int(raw[:6]), int(raw[6:12]), raw[12:16])

    def format(self) -> str:
        return f"{self.batch:06d}{self.stan:06d}{self.date}"


@dataclass(frozen=True)
class Totals:
    """Settlement totals in fen: debits (sales) and credits (refunds)."""

    debit_total: int = 0
    debit_count: int = 0
    credit_total: int = 0
    credit_count: int = 0

    def format(self, result: str = "0") -> str:
        block = (f"{self.debit_total:012d}{self.debit_count:03d}"
                 f"{self.credit_total:012d}{self.credit_count:03d}{result}")
        foreign = "0" * 30 + result
        return block + foreign

    @classmethod
    def parse(cls, raw: str) -> tuple[Totals, str]:
        """(totals, result digit) of the domestic block."""
        if len(raw) < 31 or not raw[:31].isdigit():
            raise ProtocolError("F48 settlement totals need 31 digits", "field 48")
        t = cls(int(raw[0:12]), int(raw[12:15]), int(raw[15:27]), int(raw[27:30]))
        return t, raw[30]


SETTLE_BALANCED, SETTLE_UNBALANCED, SETTLE_ERROR = "1", "2", "3"


@dataclass(frozen=True)
class BatchRecord:
    stan: int
    pan: str
    amount: int

    def format(self) -> str:
        return f"00{self.stan:06d}{self.pan:0>20}{self.amount:012d}"


MAX_RECORDS_PER_UPLOAD = 8


def format_batch_records(records: list[BatchRecord]) -> str:
    if len(records) > MAX_RECORDS_PER_UPLOAD:
        raise ValueError("at most 8 records per batch upload message")
    return f"{len(records):02d}" + "".join(r.format() for r in records)


def parse_batch_records(raw: str) -> list[BatchRecord]:
    if len(raw) < 2 or not raw[:2].isdigit():
        raise ProtocolError("F48 batch records need a 2-digit count", "field 48")
    count = int(raw[:2])
    body = raw[2:]
    if count > MAX_RECORDS_PER_UPLOAD or len(body) < count * 40:
        raise ProtocolError(f"F48 says {count} records, holds {len(body) // 40}", "field 48")
    out = []
    for i in range(count):
        rec = body[i * 40 : i * 40 + 40]
        out.append(BatchRecord(int(rec[2:8]), rec[8:28].lstrip("0"), int(rec[28:40])))
    return out


def format_balance(fen: int) -> str:
    """F54: account type 10, amount type 02, currency 156, sign C/D, 12 digits."""
    return f"1002156{'C' if fen >= 0 else 'D'}{abs(fen):012d}"


def parse_balance(raw: str) -> int:
    if len(raw) != 20 or raw[7] not in "CD" or not raw[8:].isdigit():
        raise ProtocolError(f"F54 {raw!r} is not a balance", "field 54")
    return int(raw[8:]) * (1 if raw[7] == "C" else -1)
