"""The card file (docs/cards.md): a test card, magstripe or chip, as the simulated reader reads it.
Loading names the one missing or wrong field and never quotes a PAN, track or key."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from steadypos.masking import mask_pan


class CardKind(StrEnum):
    MAGSTRIPE = "magstripe"
    CHIP = "chip"


FIELDS = {
    CardKind.MAGSTRIPE: {"kind", "pan", "expiry", "track2"},
    CardKind.CHIP: {"kind", "pan", "expiry", "psn", "icc_mk", "atc"},
}
DEFAULT_PSN = "01"
DEFAULT_SERVICE_CODE = "201"  # international, IC card present (a chip card's track 2)
_TRACK2 = re.compile(r"(?P<pan>\d{12,19})[=D](?P<expiry>\d{4})\d*")


class CardFileError(ValueError):
    """A card file that cannot be read: the message names the field."""


@dataclass(frozen=True)
class CardFile:
    kind: CardKind
    pan: str
    expiry: str  # YYMM
    track2: str = ""  # magstripe only
    psn: str = DEFAULT_PSN  # chip only
    icc_mk: str = ""  # chip only: the card's own master key, 32 hex digits
    atc: int = 1  # chip only: application transaction counter, advanced by each read

    @property
    def masked(self) -> str:
        return mask_pan(self.pan)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "pan": self.pan, "expiry": self.expiry}
        if self.kind is CardKind.MAGSTRIPE:
            data["track2"] = self.track2
        else:
            data.update(psn=self.psn, icc_mk=self.icc_mk, atc=self.atc)
        return data


def check_digit(body: str) -> str:
    """The Luhn check digit that completes `body` into a PAN."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _text(data: dict[str, Any], name: str) -> str:
    if name not in data:
        raise CardFileError(f"field {name} is missing")
    value = data[name]
    if not isinstance(value, str):
        raise CardFileError(f"field {name} must be a string")
    return value


def _check_pan(pan: str) -> None:
    if not (pan.isdigit() and 12 <= len(pan) <= 19):
        raise CardFileError(f"field pan must be 12 to 19 digits (it has {len(pan)} characters)")
    if check_digit(pan[:-1]) != pan[-1]:
        raise CardFileError("field pan fails the Luhn check (its last digit is wrong)")


def _check_expiry(expiry: str) -> None:
    if not (len(expiry) == 4 and expiry.isdigit() and 1 <= int(expiry[2:]) <= 12):
        raise CardFileError("field expiry must be YYMM, e.g. 3012")


def _kind(data: dict[str, Any]) -> CardKind:
    if "kind" not in data:  # files written before the kind field were chip cards
        if "icc_mk" in data:
            return CardKind.CHIP
        raise CardFileError("field kind is missing (magstripe or chip)")
    try:
        return CardKind(data["kind"])
    except ValueError:
        raise CardFileError("field kind must be magstripe or chip") from None


def _chip(pan: str, expiry: str, data: dict[str, Any]) -> CardFile:
    icc_mk = _text(data, "icc_mk")
    if not (len(icc_mk) == 32 and all(c in "0123456789abcdefABCDEF" for c in icc_mk)):
        raise CardFileError("field icc_mk must be 32 hex digits")
    psn = data.get("psn", DEFAULT_PSN)
    if not (isinstance(psn, str) and len(psn) == 2 and psn.isdigit()):
        raise CardFileError("field psn must be 2 digits, e.g. 01")
    atc = data.get("atc", 1)
    if not (isinstance(atc, int) and not isinstance(atc, bool) and 0 <= atc < 0xFFFF):
        raise CardFileError("field atc must be a whole number from 0 to 65534")
    return CardFile(CardKind.CHIP, pan, expiry, psn=psn, icc_mk=icc_mk.upper(), atc=atc)


def parse(data: Any) -> CardFile:
    """A card from the file's JSON value; CardFileError naming the first bad field."""
    if not isinstance(data, dict):
        raise CardFileError("a card file is one JSON object")
    kind = _kind(data)
    unknown = sorted(set(data) - FIELDS[kind])
    if unknown:
        hint = " (a card holds no PIN: type it with --pin)" if "pin" in unknown else ""
        raise CardFileError(f"field {unknown[0]} is not part of a {kind} card{hint}")
    pan, expiry = _text(data, "pan"), _text(data, "expiry")
    _check_pan(pan)
    _check_expiry(expiry)
    if kind is CardKind.CHIP:
        return _chip(pan, expiry, data)
    track2 = _text(data, "track2")
    match = _TRACK2.fullmatch(track2.upper())
    if match is None or len(track2) > 37:
        raise CardFileError("field track2 must be PAN, D (or =), YYMM and digits, at most 37")
    if match["pan"] != pan or match["expiry"] != expiry:
        raise CardFileError("field track2 does not carry the card's pan and expiry")
    return CardFile(CardKind.MAGSTRIPE, pan, expiry, track2=track2.upper())


def load(path: Path) -> CardFile:
    """Read and check a card file; CardFileError 'card file PATH: field ...'."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CardFileError(f"card file {path}: cannot read it "
                            f"({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardFileError(f"card file {path}: not JSON (line {exc.lineno}, column "
                            f"{exc.colno}: {exc.msg})") from None
    try:
        return parse(data)
    except CardFileError as exc:
        raise CardFileError(f"card file {path}: {exc}") from None


def track2_of(pan: str, expiry: str, service_code: str = DEFAULT_SERVICE_CODE) -> str:
    """A track 2 equivalent: PAN D YYMM, service code, discretionary data."""
    return f"{pan}D{expiry}{service_code}0000000"


def write(path: Path, card: CardFile) -> None:
    """Write the card file (owner-readable only: it holds a PAN and, for chip, a key)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(card.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
