"""EMV for chip sales: the card's ARQC and the issuer's ARQC check and ARPC, through pyemv."""

from __future__ import annotations

import hmac
import warnings
from dataclasses import dataclass

from cryptography.utils import CryptographyDeprecationWarning
from pyemv import ac, kd, tlv

# pyemv reaches TDES through the path cryptography deprecates; the range in pyproject.toml is
# the one we have tested, so the warning only adds noise for users.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module="pyemv")

# Tags the ARQC covers, in order (EMV Book 2 recommended data, CVN 10 style).
AC_TAGS = ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36", "9F10")
# Tags F55 must carry in a chip sale (§3).
REQUIRED_TAGS = ("9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82",
                 "9F1A", "9F03", "9F33", "9F34")
ARPC_APPROVE = b"\x30\x30"
ARPC_DECLINE = b"\x30\x35"


class EmvError(ValueError):
    """ICC data that cannot be parsed or lacks a tag the profile requires."""


def icc_master_key(issuer_mk: bytes, pan: str, psn: str) -> bytes:
    return kd.derive_icc_mk_a(issuer_mk, pan, psn)


def _session_key(icc_mk: bytes, atc: bytes) -> bytes:
    return kd.derive_common_sk(icc_mk, atc + bytes(6))


def _ac_input(tags: dict[str, bytes]) -> bytes:
    return b"".join(tags[t] for t in AC_TAGS)


@dataclass(frozen=True)
class ChipTxn:
    """What a terminal feeds the card for one GENERATE AC."""

    amount: int
    date_yymmdd: str
    unpredictable: bytes
    txn_type: str = "00"


def card_generate_arqc(icc_mk: bytes, atc: int, txn: ChipTxn) -> bytes:
    """F55 bytes as a chip card and terminal produce them for a sale."""
    tags = {
        "9F02": bytes.fromhex(f"{txn.amount:012d}"),
        "9F03": bytes(6),
        "9F1A": bytes.fromhex("0156"),
        "95": bytes(5),
        "5F2A": bytes.fromhex("0156"),
        "9A": bytes.fromhex(txn.date_yymmdd),
        "9C": bytes.fromhex(txn.txn_type),
        "9F37": txn.unpredictable,
        "82": bytes.fromhex("7C00"),
        "9F36": atc.to_bytes(2, "big"),
        "9F10": bytes.fromhex("07010103A0A000010A01000000000000000000"),
        "9F27": b"\x80",
        "9F33": bytes.fromhex("E0E1C8"),
        "9F34": bytes.fromhex("420300"),
    }
    tags["9F26"] = ac.generate_ac(_session_key(icc_mk, tags["9F36"]), _ac_input(tags))
    return bytes(tlv.encode(tags))


def parse_icc(data: bytes) -> dict[str, bytes]:
    try:
        tags = tlv.decode(data, flatten=True)
    except Exception as exc:  # pyemv raises its own TLVError and ValueError subclasses
        raise EmvError(f"ICC data is not valid TLV: {exc}") from exc
    missing = [t for t in REQUIRED_TAGS if t not in tags]
    if missing:
        raise EmvError(f"ICC data lacks tag(s) {', '.join(missing)}")
    return tags


def issuer_check(issuer_mk: bytes, pan: str, psn: str, tags: dict[str, bytes],
                 amount: int) -> tuple[bool, bytes]:
    """(ARQC good, F55 response bytes carrying tag 91 = ARPC + ARPC response code)."""
    icc_mk = icc_master_key(issuer_mk, pan, psn)
    sk = _session_key(icc_mk, tags["9F36"])
    expected = ac.generate_ac(sk, _ac_input(tags))
    good = hmac.compare_digest(expected, tags["9F26"]) and tags["9F02"] == bytes.fromhex(
        f"{amount:012d}")
    rc = ARPC_APPROVE if good else ARPC_DECLINE
    arpc = ac.generate_arpc_1(sk, tags["9F26"], rc)
    return good, bytes(tlv.encode({"91": arpc + rc}))


def card_check_arpc(icc_mk: bytes, tags_sent: dict[str, bytes], response_icc: bytes) -> bool:
    """The card's side of issuer authentication: is tag 91 the ARPC for our ARQC?"""
    try:
        got = tlv.decode(response_icc, flatten=True)["91"]
    except Exception:
        return False
    sk = _session_key(icc_mk, tags_sent["9F36"])
    return hmac.compare_digest(ac.generate_arpc_1(sk, tags_sent["9F26"], got[8:10]), got[:8])
