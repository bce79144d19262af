"""Every value of tests/data/vectors.json, byte for byte (pos-link-v1 §1, §2, §4)."""

from __future__ import annotations

import pytest

from steadypos.protocol import crypto, mac
from steadypos.protocol.codec import Message, decode_frame, encode_body, encode_frame
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import PREFIX_LEN, Header, Tpdu

KEY_NAMES = ("pik", "mak", "tdk")


def _clear_keys(vectors) -> crypto.WorkingKeys:
    wk = vectors["working_keys_clear"]
    return crypto.WorkingKeys(*(bytes.fromhex(wk[k]) for k in KEY_NAMES))


# --- sign-in: F62 key block and check values -------------------------------------------------


def test_key_block_from_tmk_and_clear_keys(vectors, tmk):
    block = crypto.pack_key_block(tmk, _clear_keys(vectors))
    assert len(block) == 60
    assert block.hex().upper() == vectors["sign_in_response_field_62"]


@pytest.mark.parametrize("i,name", list(enumerate(KEY_NAMES)))
def test_check_values(vectors, i, name):
    key = bytes.fromhex(vectors["working_keys_clear"][name])
    cv = vectors["check_values"][name]
    assert crypto.check_value(key).hex().upper() == cv
    # ... and they sit in F62 right after each enciphered key.
    block = bytes.fromhex(vectors["sign_in_response_field_62"])
    assert block[i * 20 + 16 : i * 20 + 20].hex().upper() == cv


@pytest.mark.parametrize("i,name", list(enumerate(KEY_NAMES)))
def test_key_block_keys_are_tdes_ecb_under_tmk(vectors, tmk, i, name):
    block = bytes.fromhex(vectors["sign_in_response_field_62"])
    clear = bytes.fromhex(vectors["working_keys_clear"][name])
    assert crypto.tdes_decrypt(tmk, block[i * 20 : i * 20 + 16]) == clear


def test_unpack_key_block_recovers_clear_keys(vectors, tmk):
    keys = crypto.unpack_key_block(tmk, bytes.fromhex(vectors["sign_in_response_field_62"]))
    wk = vectors["working_keys_clear"]
    assert keys.pik.hex().upper() == wk["pik"]
    assert keys.mak.hex().upper() == wk["mak"]
    assert keys.tdk.hex().upper() == wk["tdk"]
    assert keys == _clear_keys(vectors)
    assert "1111" not in repr(keys)  # keys are never printed


@pytest.mark.parametrize("i,name", [(0, "PIK"), (1, "MAK"), (2, "TDK")])
def test_unpack_key_block_rejects_tampered_check_value(vectors, tmk, i, name):
    block = bytearray.fromhex(vectors["sign_in_response_field_62"])
    block[i * 20 + 19] ^= 0x01  # last byte of this key's check value
    with pytest.raises(ProtocolError) as exc:
        crypto.unpack_key_block(tmk, bytes(block))
    assert exc.value.field == "field 62"
    assert exc.value.message == f"{name} check value does not match"


@pytest.mark.parametrize("i,name", [(0, "PIK"), (1, "MAK"), (2, "TDK")])
def test_unpack_key_block_rejects_tampered_key(vectors, tmk, i, name):
    block = bytearray.fromhex(vectors["sign_in_response_field_62"])
    block[i * 20] ^= 0x80  # first byte of the enciphered key
    with pytest.raises(ProtocolError, match=f"{name} check value does not match"):
        crypto.unpack_key_block(tmk, bytes(block))


def test_unpack_key_block_rejects_wrong_tmk(vectors):
    wrong = bytes.fromhex("FEDCBA98765432100123456789ABCDEF")
    with pytest.raises(ProtocolError, match="PIK check value does not match"):
        crypto.unpack_key_block(wrong, bytes.fromhex(vectors["sign_in_response_field_62"]))


@pytest.mark.parametrize("size", [0, 59, 61, 120])
def test_unpack_key_block_rejects_wrong_length(tmk, size):
    with pytest.raises(ProtocolError) as exc:
        crypto.unpack_key_block(tmk, bytes(size))
    assert exc.value.field == "field 62"
    assert exc.value.message == f"working key block is {size} bytes, expected 60"


def test_key_block_survives_a_sign_in_response_frame(vectors, tmk):
    f62 = vectors["sign_in_response_field_62"]
    resp = Message("0810", {11: "000001", 39: "00", 41: "T0000001", 60: "00000001003", 62: f62})
    raw = encode_frame(resp)
    # LLLVAR b: the length counts bytes, in 2 BCD bytes: 0060.
    assert raw.endswith(bytes.fromhex("0060") + bytes.fromhex(f62))
    back = decode_frame(raw)
    assert back.fields[62] == f62
    assert crypto.unpack_key_block(tmk, bytes.fromhex(back.fields[62])) == _clear_keys(vectors)


def test_fresh_keys_round_trip_through_key_block(tmk):
    keys = crypto.WorkingKeys.fresh()
    assert len({keys.pik, keys.mak, keys.tdk}) == 3
    assert crypto.unpack_key_block(tmk, crypto.pack_key_block(tmk, keys)) == keys


# --- PIN block ----------------------------------------------------------------------------------


def test_pin_block_clear(vectors):
    pb = vectors["pin_block"]
    assert crypto.pin_block_clear(pb["pin"], pb["pan"]).hex().upper() == pb["clear"]


def test_pin_block_enciphered(vectors):
    pb = vectors["pin_block"]
    enc = crypto.encipher_pin(bytes.fromhex(pb["pik"]), pb["pin"], pb["pan"])
    assert enc.hex().upper() == pb["enciphered"]
    assert crypto.tdes_encrypt(bytes.fromhex(pb["pik"]), bytes.fromhex(pb["clear"])) == enc


def test_pin_block_deciphers_to_the_pin(vectors):
    pb = vectors["pin_block"]
    pin = crypto.decipher_pin(bytes.fromhex(pb["pik"]), bytes.fromhex(pb["enciphered"]), pb["pan"])
    assert pin == "123456"


def test_pin_block_with_other_pan_is_not_well_formed(vectors):
    pb = vectors["pin_block"]
    with pytest.raises(ValueError):
        crypto.decipher_pin(bytes.fromhex(pb["pik"]), bytes.fromhex(pb["enciphered"]),
                            "6222029999999999999")


def test_sale_carries_the_vector_pin_block(vectors):
    assert vectors["sale_0200"]["fields"]["52"] == vectors["pin_block"]["enciphered"]


# --- the sale: MAC input, F64, frame, decode ----------------------------------------------------


def test_sale_mac_input(vectors, sale):
    assert mac.mac_input(sale).hex().upper() == vectors["sale_0200"]["mac_input_hex"]


POS_ECB = mac.MacAlgorithm.POS_ECB  # the 1.0 vectors' algorithm (1.1: legacy terminals only)


def test_sale_mac_input_is_body_before_f64(vectors, sale, mak):
    signed = mac.sign(sale, mak, POS_ECB)
    body = encode_body(signed)
    assert body[:-8] == bytes.fromhex(vectors["sale_0200"]["mac_input_hex"])
    assert body[:-8] == mac.mac_input(signed)  # F64 present or not: same input


def test_sale_f64_ascii_and_hex(vectors, sale, mak):
    v = vectors["sale_0200"]
    raw_mac = crypto.pos_ecb_mac(mak, bytes.fromhex(v["mac_input_hex"]))
    assert raw_mac == v["field_64_ascii"].encode("ascii") == b"223783F2"
    assert raw_mac.hex().upper() == v["field_64_hex"]
    signed = mac.sign(sale, mak, POS_ECB)
    assert signed.fields[64] == v["field_64_hex"]
    assert 64 not in sale.fields  # sign returns a copy


def test_sale_mac_uses_only_the_left_half_of_the_mak(vectors):
    left = bytes.fromhex(vectors["working_keys_clear"]["mak"])[:8]
    mac_in = bytes.fromhex(vectors["sale_0200"]["mac_input_hex"])
    assert crypto.pos_ecb_mac(left + bytes.fromhex("FFFFFFFFFFFFFFFF"), mac_in) == b"223783F2"


def test_sale_frame_encode(vectors, sale, mak, sale_frame):
    raw = encode_frame(mac.sign(sale, mak, POS_ECB))
    assert raw.hex().upper() == vectors["sale_0200"]["frame_hex"]
    assert raw == sale_frame


def test_sale_frame_layout(vectors, sale_frame):
    v = vectors["sale_0200"]
    assert int.from_bytes(sale_frame[:2], "big") == len(sale_frame) - 2 == 0x7E
    assert sale_frame[2:7] == bytes.fromhex("6000030000")  # default terminal TPDU
    assert sale_frame[7:13] == bytes.fromhex("603100000000")
    assert sale_frame[PREFIX_LEN:PREFIX_LEN + 2] == bytes.fromhex("0200")
    assert sale_frame[15:23].hex().upper() == v["fields"]["p"]
    assert sale_frame[-8:] == v["field_64_ascii"].encode()
    assert sale_frame[PREFIX_LEN:-8].hex().upper() == v["mac_input_hex"]


def test_sale_frame_decode_gives_exactly_the_vector_fields(vectors, sale_frame):
    v = vectors["sale_0200"]
    msg = decode_frame(sale_frame)
    expected = {int(k): val for k, val in v["fields"].items() if k.isdigit()}
    expected[64] = v["field_64_hex"]
    assert msg.mti == v["fields"]["t"]
    assert msg.fields == expected
    assert msg.tpdu == Tpdu(0x0003, 0x0000)
    assert msg.header == Header(0, 0)
    bitmap = sum(1 << (64 - n) for n in msg.fields)
    assert f"{bitmap:016X}" == v["fields"]["p"]


def test_sale_frame_decodes_and_verifies(sale_frame, mak):
    msg = decode_frame(sale_frame)
    assert mac.verify(msg, mak, POS_ECB)
    assert encode_frame(msg) == sale_frame
    # 0x33 -> 0x31 changes a key bit (0x33 -> 0x32 would only change the ignored parity bit).
    assert not mac.verify(msg, bytes.fromhex("33333333333333310000000000000000"), POS_ECB)
    # Under x919 (the 1.1 default) the 1.0 frame's MAC does not verify.
    assert not mac.verify(msg, mak)


# --- mac_x919 (1.1): ANSI X9.19 / ISO 9797-1 MAC algorithm 3 --------------------------------


def test_x919_over_the_vector_sale(vectors):
    v = vectors["mac_x919"]
    assert v["input_hex"] == "sale_0200.mac_input_hex"
    mac_in = bytes.fromhex(vectors["sale_0200"]["mac_input_hex"])
    raw = crypto.x919_mac(bytes.fromhex(v["mak"]), mac_in)
    assert raw.hex().upper() == v["field_64_hex"]


def test_x919_iso9797_standard_test(vectors):
    t = vectors["mac_x919"]["iso9797_test"]
    raw = crypto.x919_mac(bytes.fromhex(t["key"]), t["data_ascii"].encode("ascii"))
    assert raw.hex().upper() == t["mac_hex"]


def test_x919_signs_the_vector_sale_and_uses_both_halves(vectors, sale):
    v = vectors["mac_x919"]
    mak = bytes.fromhex(v["mak"])
    signed = mac.sign(sale, mak)  # x919 is the default
    assert signed.fields[64] == v["field_64_hex"]
    assert mac.verify(decode_frame(encode_frame(signed)), mak, mac.MacAlgorithm.X919)
    # Unlike pos_ecb, the right half counts: a MAK with another right half gives another MAC.
    other = mak[:8] + bytes.fromhex("5555555555555555")
    assert crypto.x919_mac(other, mac.mac_input(signed)).hex().upper() != v["field_64_hex"]
