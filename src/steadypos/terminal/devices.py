"""Simulated devices behind small interfaces: card reader, PIN pad, receipt printer. Each has fault
switches, set from code or with `steadypos terminal --fault reader=bad_read` (settings.py)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from steadypos import cards
from steadypos.files import make_private
from steadypos.masking import mask_pan
from steadypos.protocol import emv
from steadypos.protocol.builders import Card
from steadypos.terminal.counter import receipt

# Device -> the faults it knows.
FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "reader": ("bad_read", "lrc", "chip_mute", "no_code"),
    "pinpad": ("cancelled", "timeout"),
    "printer": ("paper_out", "jam", "head_fault"),
}


class DeviceError(Exception):
    """A device could not do its job; `code` is the event log's name for it."""

    def __init__(self, device: str, code: str, message: str) -> None:
        super().__init__(message)
        self.device, self.code = device, code


class UsageError(ValueError):
    """Input the operator typed that cannot be a card, PIN or amount."""


@dataclass
class Faults:
    """The fault switches in force, device -> fault (FAULT_KINDS); a test bench may flip them."""

    switches: dict[str, str] = field(default_factory=dict)

    def check(self, device: str) -> None:
        fault = self.switches.get(device)
        if fault:
            raise DeviceError(device, fault, f"{device}: {fault.replace('_', ' ')}")


def _valid_track2(t2: str) -> bool:
    pan, sep, rest = t2.replace("=", "D").upper().partition("D")
    return bool(sep) and 12 <= len(pan) <= 19 and pan.isdigit() and len(rest) >= 4 \
        and rest[:4].isdigit() and len(t2) <= 37 and all(c in "0123456789" for c in rest)


@dataclass
class CardReader:
    faults: Faults

    def swipe(self, track2: str) -> Card:
        if not _valid_track2(track2):
            raise UsageError("track 2 must be PAN (12-19 digits) = YYMM + digits, at most 37")
        self.faults.check("reader")
        return Card.from_track2(track2)

    def scan(self, code: str) -> Card:
        if not (code.isdigit() and 16 <= len(code) <= 19):
            raise UsageError("a QR payment code is 16 to 19 digits")
        if self.faults.switches.get("reader") == "no_code":
            raise DeviceError("reader", "no_code", "no payment code could be scanned")
        return Card.qr(code)

    def insert(self, card_file: Path, amount: int) -> Card:
        """A chip card: reads the card file, runs GENERATE AC with the card's own key."""
        chip = ChipCard.load(card_file)
        if self.faults.switches.get("reader") == "chip_mute":
            raise DeviceError("reader", "chip_mute", "the chip does not answer")
        return chip.generate(amount)


@dataclass
class ChipCard:
    """A chip card file (docs/cards.md): pan, expiry, psn, icc_mk (the card's own key), atc."""

    path: Path
    pan: str
    expiry: str
    psn: str
    icc_mk: bytes
    atc: int

    @classmethod
    def load(cls, path: Path) -> ChipCard:
        try:
            card = cards.load(path)
        except cards.CardFileError as exc:
            raise UsageError(str(exc)) from None
        if card.kind is not cards.CardKind.CHIP:
            raise UsageError(f"card file {path}: a magstripe card is swiped, not inserted")
        return cls(Path(path), card.pan, card.expiry, card.psn, bytes.fromhex(card.icc_mk),
                   card.atc)

    def generate(self, amount: int) -> Card:
        self.atc += 1
        data = json.loads(self.path.read_text())
        data["atc"] = self.atc
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)
        icc = emv.card_generate_arqc(self.icc_mk, self.atc, emv.ChipTxn(
            amount, datetime.now().strftime("%y%m%d"), secrets.token_bytes(4)))
        t2 = cards.track2_of(self.pan, self.expiry)
        return Card(pan=self.pan, expiry=self.expiry, track2=t2, method="05", psn=self.psn,
                    icc=icc)


@dataclass
class PinPad:
    faults: Faults

    def enter(self, pin: str | None) -> str | None:
        """The PIN the customer typed (never stored), or None for no PIN."""
        if pin is None:
            return None
        if not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise UsageError("a PIN is 4 to 12 digits")
        self.faults.check("pinpad")
        return pin


@dataclass
class Receipt:
    tid: str
    mid: str
    kind: str
    pan_masked: str
    amount: int
    stan: int
    batch: int
    rrn: str
    auth_code: str
    reprint: bool = False
    training: bool = False

    def text(self) -> str:
        return receipt.text(tid=self.tid, mid=self.mid, kind=self.kind,
                            pan_masked=self.pan_masked, amount=self.amount, stan=self.stan,
                            batch=self.batch, rrn=self.rrn, auth_code=self.auth_code,
                            reprint=self.reprint, training=self.training)


@dataclass
class Printer:
    faults: Faults
    out_dir: Path

    def print(self, receipt: Receipt) -> Path:
        self.faults.check("printer")
        self.out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{receipt.batch:06d}-{receipt.stan:06d}"
        path = self.out_dir / f"{name}.txt"
        copy = 0
        while receipt.reprint and path.exists():  # a duplicate is a new slip, never the first
            copy += 1
            path = self.out_dir / f"{name}-dup{copy}.txt"
        make_private(path)
        path.write_text(receipt.text())
        return path


def masked(card: Card) -> str:
    return mask_pan(card.pan)
