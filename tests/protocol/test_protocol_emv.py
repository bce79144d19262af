"""Chip sales (§3): the card's ARQC verifies at the issuer, the issuer's ARPC at the card."""

from __future__ import annotations

import pytest

from steadypos.protocol import emv
from steadypos.protocol.codec import Message, decode_frame, encode_frame
from steadypos.protocol.fields import entry_mode_problem

# emv.py filters pyemv's TDES deprecation warnings at import; pytest's per-test warning capture
# does not keep that filter, so restate it here.
pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pyemv")

ISSUER_MK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
PAN = "6222021234567890123"
PSN = "01"
TXN = emv.ChipTxn(amount=1234, date_yymmdd="250301", unpredictable=bytes.fromhex("A1B2C3D4"))


@pytest.fixture(scope="module")
def icc_mk() -> bytes:
    return emv.icc_master_key(ISSUER_MK, PAN, PSN)


@pytest.fixture(scope="module")
def icc(icc_mk) -> bytes:
    return emv.card_generate_arqc(icc_mk, 7, TXN)


def _tags(icc: bytes) -> dict[str, bytes]:
    return dict(emv.parse_icc(icc))


def test_card_data_carries_every_required_tag(icc):
    tags = _tags(icc)
    assert set(emv.REQUIRED_TAGS) <= set(tags)
    assert tags["9F02"] == bytes.fromhex("000000001234")
    assert tags["9F36"] == bytes.fromhex("0007")
    assert tags["9F37"] == bytes.fromhex("A1B2C3D4")
    assert tags["9A"] == bytes.fromhex("250301")
    assert len(tags["9F26"]) == 8


def test_arqc_is_deterministic_and_depends_on_the_atc(icc_mk, icc):
    assert emv.card_generate_arqc(icc_mk, 7, TXN) == icc
    other = _tags(emv.card_generate_arqc(icc_mk, 8, TXN))
    assert other["9F26"] != _tags(icc)["9F26"]


def test_arqc_verifies_at_the_issuer_and_arpc_at_the_card(icc_mk, icc):
    tags = _tags(icc)
    good, response = emv.issuer_check(ISSUER_MK, PAN, PSN, tags, 1234)
    assert good is True
    arpc = emv.tlv.decode(response, flatten=True)["91"]
    assert len(arpc) == 10 and arpc[8:] == emv.ARPC_APPROVE == b"00"
    assert emv.card_check_arpc(icc_mk, tags, response)


def test_tampered_arqc_fails(icc_mk, icc):
    tags = _tags(icc)
    tags["9F26"] = bytes([tags["9F26"][0] ^ 0x01]) + tags["9F26"][1:]
    good, response = emv.issuer_check(ISSUER_MK, PAN, PSN, tags, 1234)
    assert good is False
    assert emv.tlv.decode(response, flatten=True)["91"][8:] == emv.ARPC_DECLINE == b"05"
    # The card holds the ARQC it really produced: this ARPC is not for it.
    assert not emv.card_check_arpc(icc_mk, _tags(icc), response)


def test_amount_not_matching_the_arqc_fails(icc):
    good, _ = emv.issuer_check(ISSUER_MK, PAN, PSN, _tags(icc), 1235)
    assert good is False


@pytest.mark.parametrize("tag,value", [
    ("9F02", bytes.fromhex("000000001235")),   # amount changed in the ICC data
    ("9F37", bytes.fromhex("A1B2C3D5")),
    ("9F36", bytes.fromhex("0008")),
    ("9A", bytes.fromhex("250302")),
])
def test_tampered_ac_data_fails(icc, tag, value):
    tags = _tags(icc)
    tags[tag] = value
    amount = 1235 if tag == "9F02" else 1234
    good, _ = emv.issuer_check(ISSUER_MK, PAN, PSN, tags, amount)
    assert good is False


@pytest.mark.parametrize("pan,psn", [("6222021234567890124", PSN), (PAN, "02")])
def test_other_card_fails(icc, pan, psn):
    good, _ = emv.issuer_check(ISSUER_MK, pan, psn, _tags(icc), 1234)
    assert good is False


def test_other_issuer_key_fails(icc):
    good, _ = emv.issuer_check(bytes(16), PAN, PSN, _tags(icc), 1234)
    assert good is False


def test_card_rejects_a_forged_arpc(icc_mk, icc):
    tags = _tags(icc)
    _, response = emv.issuer_check(ISSUER_MK, PAN, PSN, tags, 1234)
    forged = bytearray(response)
    forged[2] ^= 0x01  # first ARPC byte after tag 91 and its length
    assert not emv.card_check_arpc(icc_mk, tags, bytes(forged))
    # Keeping the ARPC but changing its response code from approve to decline.
    flipped = response[:-2] + emv.ARPC_DECLINE
    assert not emv.card_check_arpc(icc_mk, tags, flipped)


@pytest.mark.parametrize("response", [b"", b"\x91", bytes.fromhex("9F270180"), b"\xff\xff\xff"])
def test_card_rejects_response_without_arpc(icc_mk, icc, response):
    assert emv.card_check_arpc(icc_mk, _tags(icc), response) is False


def test_parse_icc_rejects_missing_tags(icc):
    tags = _tags(icc)
    del tags["9F26"], tags["9F34"]
    with pytest.raises(emv.EmvError, match="lacks tag\\(s\\) 9F26, 9F34"):
        emv.parse_icc(bytes(emv.tlv.encode(tags)))


@pytest.mark.parametrize("data", [b"\x9f", b"\x9f\x26\x08\x00", b"\x5f"])
def test_parse_icc_rejects_bad_tlv(data):
    with pytest.raises(emv.EmvError):
        emv.parse_icc(data)


def test_chip_sale_carries_icc_data_through_the_wire(icc_mk, icc, sale):
    msg = sale.copy()
    msg.fields.update({22: "051", 23: "001", 55: icc.hex().upper()})
    del msg.fields[35]
    assert entry_mode_problem(msg.get(22), set(msg.fields)) is None
    back = decode_frame(encode_frame(msg))
    assert bytes.fromhex(back.fields[55]) == icc
    good, response = emv.issuer_check(ISSUER_MK, PAN, PSN, emv.parse_icc(icc), 1234)
    assert good
    resp = decode_frame(encode_frame(Message("0210", {11: "000001", 39: "00",
                                                      55: response.hex().upper()})))
    assert emv.card_check_arpc(icc_mk, _tags(icc), bytes.fromhex(resp.fields[55]))
