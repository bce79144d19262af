"""Field layouts of pos-link-v1 §2 as data: the pyiso8583 spec plus each field's name, charset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One row of §2: number, name, content class, and layout."""

    number: int
    name: str
    content: str  # n digits, z track (digits and D), ans text, b binary (hex)
    length: str  # fixed, LLVAR or LLLVAR
    max_len: int  # digits for n/z, bytes for ans/b

    def pyiso_spec(self) -> dict[str, Any]:
        bcd = self.content in ("n", "z")
        spec: dict[str, Any] = {
            "data_enc": "b" if self.content in ("n", "z", "b") else "ascii",
            "len_enc": "bcd",
            "len_type": {"fixed": 0, "LLVAR": 1, "LLLVAR": 2}[self.length],
            "max_len": self.max_len,
            "type": self.content,
            "desc": self.name,
            "len_count": "nibbles" if bcd else "bytes",
        }
        if bcd:
            spec["right_pad"] = "0"
        return spec


FIELDS: tuple[Field, ...] = (
    Field(2, "PAN / payment code", "n", "LLVAR", 19),
    Field(3, "processing code", "n", "fixed", 6),
    Field(4, "amount (fen)", "n", "fixed", 12),
    Field(11, "STAN", "n", "fixed", 6),
    Field(12, "local time hhmmss", "n", "fixed", 6),
    Field(13, "local date MMDD", "n", "fixed", 4),
    Field(14, "card expiry YYMM", "n", "fixed", 4),
    Field(15, "settlement date MMDD", "n", "fixed", 4),
    Field(22, "entry mode", "n", "fixed", 3),
    Field(23, "card sequence number", "n", "fixed", 3),
    Field(25, "condition code", "n", "fixed", 2),
    Field(26, "PIN capture code", "n", "fixed", 2),
    Field(32, "acquirer institution id", "n", "LLVAR", 11),
    Field(35, "track 2", "z", "LLVAR", 37),
    Field(36, "track 3", "z", "LLLVAR", 104),
    Field(37, "RRN", "ans", "fixed", 12),
    Field(38, "authorization code", "ans", "fixed", 6),
    Field(39, "response code", "ans", "fixed", 2),
    Field(41, "terminal id", "ans", "fixed", 8),
    Field(42, "merchant id", "ans", "fixed", 15),
    Field(44, "issuer + acquirer ids", "ans", "LLVAR", 25),
    Field(48, "totals / batch records", "n", "LLLVAR", 322),
    Field(49, "currency", "ans", "fixed", 3),
    Field(52, "PIN block", "b", "fixed", 8),
    Field(53, "security control", "n", "fixed", 16),
    Field(54, "balance", "ans", "LLLVAR", 20),
    Field(55, "ICC data", "b", "LLLVAR", 255),
    Field(60, "reserved: type, batch, network", "n", "LLLVAR", 17),
    Field(61, "original batch/STAN/date", "n", "LLLVAR", 29),
    Field(62, "working keys", "b", "LLLVAR", 512),
    Field(63, "operator / card organisation", "ans", "LLLVAR", 163),
    Field(64, "MAC", "b", "fixed", 8),
)

BY_NUMBER: dict[int, Field] = {f.number: f for f in FIELDS}

# Fields whose content must never be printed or logged in clear.
SECRET_FIELDS = frozenset({35, 36, 52, 55, 62})
PAN_FIELDS = frozenset({2})


def pyiso_spec() -> dict[str, dict[str, Any]]:
    """The whole pyiso8583 spec: header left to the framing layer, MTI and bitmap in BCD/binary."""
    spec: dict[str, dict[str, Any]] = {
        "h": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 0,
              "type": "b", "desc": "header (framing layer)", "len_count": "bytes"},
        "t": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 4,
              "type": "n", "desc": "MTI", "len_count": "nibbles"},
        "p": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 8,
              "type": "b", "desc": "bitmap", "len_count": "bytes"},
        "1": {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 8,
              "type": "b", "desc": "secondary bitmap (never used)", "len_count": "bytes"},
    }
    for n in range(2, 129):
        f = BY_NUMBER.get(n)
        if f is not None:
            spec[str(n)] = f.pyiso_spec()
        else:
            # Not in the profile: a bitmap bit for it is a format error; the spec entry keeps
            # pyiso8583 from failing on a key lookup before our check names the field.
            spec[str(n)] = {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 0,
                            "type": "b", "desc": "not in profile", "len_count": "bytes"}
    return spec


SPEC = pyiso_spec()
