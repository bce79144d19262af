"""Malformed frames (pos-link-v1 §1, §2): each raises ProtocolError naming the field and the byte.

Byte map of the vector sale frame (128 bytes), used to build the cases:

    0 LEN(2) | 2 TPDU(5) | 7 header(6) | 13 MTI(2) | 15 bitmap(8) | 23 F2: LL(1) 24 data(10)
    34 F3(3) | 37 F4(6) | 43 F11(3) | 46 F14(2) | 48 F22(2) | 50 F25 | 51 F26
    52 F35: LL(1) 53 data(19)
    72 F41(8) | 80 F42(15) | 95 F49(3) | 98 F52(8) | 106 F53(8) | 114 F60: LLL(2) 116 data(4)
    120 F64(8)
"""

from __future__ import annotations

import asyncio

import pytest

from steadypos.protocol.codec import Message, decode_body, decode_frame, decode_payload, encode_body
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import PREFIX_LEN, Frame, Header, Tpdu, read_payload


def relen(raw: bytes) -> bytes:
    """The same frame with LEN made consistent again."""
    return (len(raw) - 2).to_bytes(2, "big") + raw[2:]


def patched(raw: bytes, offset: int, value: int) -> bytes:
    out = bytearray(raw)
    out[offset] = value
    return bytes(out)


def decode_error(raw: bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as exc:
        decode_frame(raw)
    return exc.value


def test_byte_map_of_the_vector(sale_frame):
    # The offsets below are only as good as this map.
    assert len(sale_frame) == 128
    assert sale_frame[23] == 0x19 and sale_frame[34:37] == bytes(3)
    assert sale_frame[37:43].hex() == "000000001234" and sale_frame[43:46].hex() == "000001"
    assert sale_frame[48:50].hex() == "0210" and sale_frame[52] == 0x37
    assert sale_frame[72:80] == b"T0000001" and sale_frame[80:95] == b"898310012345678"
    assert sale_frame[114:120].hex() == "000822000001" and sale_frame[120:] == b"223783F2"


# --- LEN, TPDU, header ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"\x00"])
def test_frame_shorter_than_len(raw):
    err = decode_error(raw)
    assert (err.field, err.offset) == ("LEN", 0)
    assert err.message == "frame shorter than its 2-byte length"


@pytest.mark.parametrize("cut", [2, 13, 50, 120, 127])
def test_truncated_frame_is_a_len_error(sale_frame, cut):
    err = decode_error(sale_frame[:cut])
    assert (err.field, err.offset) == ("LEN", 0)
    assert err.message == f"length says 126 bytes, {cut - 2} follow"


@pytest.mark.parametrize("declared", [0x7D, 0x7F, 0, 0xFFFF])
def test_wrong_len(sale_frame, declared):
    err = decode_error(declared.to_bytes(2, "big") + sale_frame[2:])
    assert (err.field, err.offset) == ("LEN", 0)
    assert err.message == f"length says {declared} bytes, 126 follow"


def test_payload_too_short_for_tpdu_header_and_mti(sale_frame):
    err = decode_error(relen(sale_frame[:14]))
    assert (err.field, err.offset) == ("LEN", 0)
    with pytest.raises(ProtocolError, match="12 bytes cannot hold"):
        decode_payload(sale_frame[2:14])


@pytest.mark.parametrize("first", [0x00, 0x61, 0x06, 0xFF])
def test_bad_tpdu_id(sale_frame, first):
    err = decode_error(patched(sale_frame, 2, first))
    assert (err.field, err.offset) == ("TPDU", 2)
    assert err.message == f"TPDU must start with 60, got {first:02X}"


@pytest.mark.parametrize("offset,value,at", [(7, 0x61, 7), (7, 0x00, 7), (8, 0x32, 8),
                                             (8, 0x30, 8)])
def test_bad_header(sale_frame, offset, value, at):
    err = decode_error(patched(sale_frame, offset, value))
    assert (err.field, err.offset) == ("header", at)
    assert err.message.startswith("header must start with 6031, got ")


def test_header_state_and_processing_nibbles_are_free(sale_frame):
    msg = decode_frame(patched(sale_frame, 9, 0x16))
    assert msg.header == Header(1, 6)


# --- MTI and bitmap -------------------------------------------------------------------------


@pytest.mark.parametrize("mti", ["0A00", "1200", "0001", "0201", "0000"])
def test_bad_mti(sale_frame, mti):
    err = decode_error(sale_frame[:13] + bytes.fromhex(mti) + sale_frame[15:])
    assert (err.field, err.offset) == ("MTI", 13)


def test_bit_1_set(sale_frame):
    err = decode_error(patched(sale_frame, 15, sale_frame[15] | 0x80))
    assert (err.field, err.offset) == ("bitmap", 15)
    assert "secondary bitmap" in err.message


@pytest.mark.parametrize("n", [5, 7, 10, 24, 33, 43, 56, 59])
def test_bitmap_bit_for_a_field_not_in_the_profile(sale_frame, n):
    raw = bytearray(sale_frame)
    raw[15 + (n - 1) // 8] |= 0x80 >> ((n - 1) % 8)
    err = decode_error(bytes(raw))
    assert err.field == f"field {n}"
    assert err.offset == 15 + (n - 1) // 8  # the bitmap byte that carries the bit
    assert err.message == "bitmap sets a field that is not in the profile"


def test_foreign_field_with_data_is_named_not_the_field_after_it():
    # An 0800 whose bitmap sets F7 (transmission date, common in other ISO dialects) with its
    # 10 digits of data, then F11: the error must name F7, not the misread F11.
    body = bytes.fromhex("0800" "0220000000000000" "0102030405" "000001")
    err = decode_error(Frame(Tpdu(), Header(), body).to_bytes())
    assert (err.field, err.offset) == ("field 7", 15)


@pytest.mark.parametrize("n,offset", [(5, 15), (9, 16), (33, 19), (57, 22)])
def test_foreign_field_offsets_literal(sale_frame, n, offset):
    raw = bytearray(sale_frame)
    raw[15 + (n - 1) // 8] |= 0x80 >> ((n - 1) % 8)
    assert decode_error(bytes(raw)).offset == offset


def test_short_bitmap(sale_frame):
    err = decode_error(relen(sale_frame[:21]))
    assert (err.field, err.offset) == ("bitmap", 15)


# --- truncated bodies (LEN consistent) --------------------------------------------------------


@pytest.mark.parametrize("cut,field,offset", [
    (24, "field 2 (PAN / payment code)", 24),   # LL present, data missing
    (28, "field 2 (PAN / payment code)", 24),
    (35, "field 3 (processing code)", 34),
    (42, "field 4 (amount (fen))", 37),
    (49, "field 22 (entry mode)", 48),
    (60, "field 35 (track 2)", 53),
    (97, "field 49 (currency)", 95),
    (105, "field 52 (PIN block)", 98),
    (115, "field 60 (reserved: type, batch, network)", 114),  # half of the LLL length
    (119, "field 60 (reserved: type, batch, network)", 116),
    (127, "field 64 (MAC)", 120),
])
def test_truncated_body(sale_frame, cut, field, offset):
    err = decode_error(relen(sale_frame[:cut]))
    assert (err.field, err.offset) == (field, offset)


def test_extra_data_after_last_field(sale_frame):
    err = decode_error(relen(sale_frame + b"\x00"))
    assert err.offset == 128
    assert err.message == "Extra data after last field"


# --- content ----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset,value,field", [
    (24, 0xA2, "field 2 (PAN / payment code)"),   # first data byte of an LLVAR n field
    (33, 0xB0, "field 2 (PAN / payment code)"),   # last digit of the PAN, pad 0
    (34, 0xA0, "field 3 (processing code)"),
    (36, 0x0F, "field 3 (processing code)"),
    (42, 0x1B, "field 4 (amount (fen))"),         # 6th byte of the amount
    (44, 0xC0, "field 11 (STAN)"),
    (46, 0x2E, "field 14 (card expiry YYMM)"),
    (53, 0xA2, "field 35 (track 2)"),             # z allows D, not A
    (110, 0x0E, "field 53 (security control)"),
    (117, 0xF0, "field 60 (reserved: type, batch, network)"),
])
def test_bad_bcd_nibble_names_field_and_byte(sale_frame, offset, value, field):
    err = decode_error(patched(sale_frame, offset, value))
    assert (err.field, err.offset) == (field, offset)
    assert err.message == "bad BCD content"


def test_track_2_separator_nibble_d_is_legal(sale_frame):
    assert decode_frame(sale_frame).fields[35][19] == "D"


def test_bad_pad_nibble(sale_frame):
    # F2 has 19 digits: the 20th nibble is the pad and must be 0.
    err = decode_error(patched(sale_frame, 33, 0x31))
    assert (err.field, err.offset) == ("field 2 (PAN / payment code)", 24)


@pytest.mark.parametrize("offset,value", [(72, 0x01), (75, 0x7F), (94, 0x0A)])
def test_control_character_in_ans_field(sale_frame, offset, value):
    err = decode_error(patched(sale_frame, offset, value))
    field = "field 41 (terminal id)" if offset < 80 else "field 42 (merchant id)"
    assert (err.field, err.offset) == (field, offset)
    assert err.message == "bad ans content"


def test_non_ascii_in_ans_field(sale_frame):
    err = decode_error(patched(sale_frame, 76, 0xC3))
    assert (err.field, err.offset) == ("field 41 (terminal id)", 72)


# --- variable lengths -------------------------------------------------------------------------


@pytest.mark.parametrize("offset,value,field", [
    (23, 0x20, "field 2 (PAN / payment code)"),        # 20 > 19
    (23, 0x99, "field 2 (PAN / payment code)"),
    (52, 0x38, "field 35 (track 2)"),                  # 38 > 37
])
def test_llvar_longer_than_max(sale_frame, offset, value, field):
    err = decode_error(patched(sale_frame, offset, value))
    assert (err.field, err.offset) == (field, offset)
    assert "larger than maximum" in err.message


def test_lllvar_longer_than_max(sale_frame):
    raw = sale_frame[:114] + bytes.fromhex("0018") + sale_frame[116:]  # 18 > 17
    err = decode_error(raw)
    assert (err.field, err.offset) == ("field 60 (reserved: type, batch, network)", 114)
    assert err.message == "Field data is 18 nibbles, larger than maximum 17"


@pytest.mark.parametrize("offset,value", [(23, 0x1A), (23, 0xF1)])
def test_length_prefix_not_bcd(sale_frame, offset, value):
    err = decode_error(patched(sale_frame, offset, value))
    assert (err.field, err.offset) == ("field 2 (PAN / payment code)", 23)


def test_llvar_shorter_than_data_shifts_into_an_error(sale_frame):
    # F2 says 18 digits: everything after it is misaligned and the frame cannot decode.
    with pytest.raises(ProtocolError):
        decode_frame(patched(sale_frame, 23, 0x18))


def test_decode_body_offsets_count_from_frame_start(sale_frame):
    with pytest.raises(ProtocolError) as exc:
        decode_body(patched(sale_frame, 34, 0xA0)[PREFIX_LEN:])
    assert exc.value.offset == 34


# --- encoding refuses what decoding would refuse ----------------------------------------------


@pytest.mark.parametrize("fields,field,message", [
    ({3: "00000"}, "field 3 (processing code)", "Field data is 5 nibbles, expecting 6"),
    ({3: "00000A"}, "field 3 (processing code)", "value does not fit n"),
    ({2: "1" * 20}, "field 2 (PAN / payment code)",
     "Field data is 20 nibbles, larger than maximum 19"),
    ({35: "6222=2912"}, "field 35 (track 2)", "value does not fit z"),
    ({41: "T000001"}, "field 41 (terminal id)", "Field data is 7 bytes, expecting 8"),
    ({41: "T000000\u00e9"}, "field 41 (terminal id)", "value does not fit ans"),
    ({52: "e8a3b2f04fc1e394"}, "field 52 (PIN block)", "value does not fit b"),
    ({55: "ABC"}, "field 55 (ICC data)", "Failed to encode field, odd-length hex data"),
    ({7: "0101120000"}, "field 7", "field 7 is not in the profile"),
])
def test_encode_errors(fields, field, message):
    with pytest.raises(ProtocolError) as exc:
        encode_body(Message("0200", fields))
    assert (exc.value.field, exc.value.message) == (field, message)


@pytest.mark.parametrize("mti", ["ABCD", "02000", "200", "1200", "0201"])
def test_encode_rejects_bad_mti(mti):
    with pytest.raises(ProtocolError) as exc:
        encode_body(Message(mti, {11: "000001"}))
    assert exc.value.field == "MTI"


def test_error_str_names_field_and_byte():
    err = ProtocolError("bad BCD content", "field 4 (amount (fen))", 42)
    assert str(err) == "field 4 (amount (fen)) at byte 42: bad BCD content"
    assert isinstance(err, ValueError)


# --- framing helpers and the stream reader ----------------------------------------------------


def test_tpdu_helpers():
    t = Tpdu.parse_hex("6000030000")
    assert t == Tpdu(3, 0) and t.to_bytes() == bytes.fromhex("6000030000")
    assert t.swapped() == Tpdu(0, 3) and t.swapped().to_bytes() == bytes.fromhex("6000000003")
    with pytest.raises(ProtocolError) as exc:
        Tpdu.parse_hex("60000300ZZ")
    assert (exc.value.field, exc.value.offset) == ("TPDU", 0)
    with pytest.raises(ProtocolError):
        Tpdu.parse_hex("600003")


def test_header_helpers():
    assert Header().to_bytes() == bytes.fromhex("603100000000")
    assert Header(1, 0).with_proc(3).to_bytes() == bytes.fromhex("603113000000")
    assert Header.from_bytes(bytes.fromhex("603116000000")) == Header(1, 6)


def _read(data: bytes, eof: bool = True):
    async def run():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await read_payload(reader)
    return asyncio.run(run())


def test_read_payload(sale_frame):
    assert _read(sale_frame) == sale_frame[2:]
    assert _read(b"") is None


@pytest.mark.parametrize("cut", [1, 2, 60, 127])
def test_read_payload_peer_leaves_mid_frame(sale_frame, cut):
    with pytest.raises(asyncio.IncompleteReadError):
        _read(sale_frame[:cut])


@pytest.mark.parametrize("n", [0, 12, 4097, 0xFFFF])
def test_read_payload_rejects_impossible_length(n):
    with pytest.raises(ProtocolError) as exc:
        _read(n.to_bytes(2, "big") + bytes(20))
    assert (exc.value.field, exc.value.offset) == ("LEN", 0)
