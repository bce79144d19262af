"""`steadypos decode HEX|- [--mak HEX] [--mac x919|pos_ecb]`: field by field, card data hidden,
one-line errors. The vector sale is a 1.0 frame, MAC'd with pos_ecb (1.1: legacy terminals only)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.protocol import mac
from steadypos.protocol.codec import Message, encode_frame

FULL_PAN = "6222021234567890123"
TRACK_2 = "6222021234567890123D29121010000000000"
PIN_BLOCK = "E8A3B2F04FC1E394"
MASKED_PAN = "622202*********0123"
LEGACY = ("--mac", "pos_ecb")


def run(*args: str, stdin: str | None = None):
    # A wide console: nothing hidden or shown only because the table wrapped.
    return CliRunner().invoke(app, ["decode", *args], input=stdin, env={"COLUMNS": "200"})


def assert_no_card_data(text: str) -> None:
    assert FULL_PAN not in text
    assert TRACK_2 not in text
    assert "D2912101" not in text  # any part of the track's discretionary data
    assert PIN_BLOCK not in text


def assert_one_error_line(result, line: str) -> None:
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr == line + "\n"
    assert "Traceback" not in result.output + result.stderr


@pytest.fixture
def frame_hex(vectors) -> str:
    return vectors["sale_0200"]["frame_hex"]


@pytest.fixture
def mak_hex(vectors) -> str:
    return vectors["working_keys_clear"]["mak"]


def test_decode_with_mak_verifies(frame_hex, mak_hex):
    result = run(frame_hex, "--mak", mak_hex, *LEGACY)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert "MAC verified (pos_ecb)" in out
    assert "pos_ecb is weak" in out
    assert "does NOT verify" not in out
    assert MASKED_PAN in out
    assert_no_card_data(out)
    assert "128-byte frame" in out
    assert "0200 (sale)" in out
    assert "000000001234" in out and "T0000001" in out and "898310012345678" in out
    assert "223783F2 (hex 3232333738334632)" in out
    assert "<track data, 37 characters hidden>" in out
    assert "<PIN block hidden>" in out


def test_decode_with_wrong_mak_exits_1(frame_hex):
    result = run(frame_hex, "--mak", "33333333333333310000000000000000", *LEGACY)
    assert result.exit_code == 1
    assert "MAC does NOT verify" in result.stdout
    assert "MAC verified" not in result.stdout
    assert "Traceback" not in result.output
    assert_no_card_data(result.output)


def test_decode_with_single_length_mak(frame_hex, mak_hex):
    # pos_ecb only uses the MAK's left 8 bytes; x919 needs both halves.
    result = run(frame_hex, "--mak", mak_hex[:16], *LEGACY)
    assert result.exit_code == 0
    assert "MAC verified" in result.stdout
    assert_one_error_line(run(frame_hex, "--mak", mak_hex[:16]),
                          "error: --mac x919 needs the whole MAK (32 hex digits)")


def test_decode_follows_the_terminal_algorithm(vectors, sale, frame_hex, mak_hex):
    """x919 is the default; a frame verifies only under the algorithm it was MAC'd with."""
    x919_mak = vectors["mac_x919"]["mak"]
    x919_frame = encode_frame(mac.sign(sale, bytes.fromhex(x919_mak))).hex()
    result = run(x919_frame, "--mak", x919_mak)
    assert result.exit_code == 0, result.output
    assert "MAC verified (x919)" in result.stdout and "weak" not in result.stdout
    assert vectors["mac_x919"]["field_64_hex"] in result.stdout
    assert run(x919_frame, "--mak", x919_mak, *LEGACY).exit_code == 1
    wrong = run(frame_hex, "--mak", mak_hex)  # the 1.0 frame under the 1.1 default
    assert wrong.exit_code == 1 and "MAC does NOT verify (x919)" in wrong.stdout
    assert run(frame_hex, "--mak", mak_hex, "--mac", "des").exit_code == 2


def test_decode_without_mak_shows_fields_and_no_mac_status(frame_hex):
    result = run(frame_hex)
    assert result.exit_code == 0
    assert MASKED_PAN in result.stdout
    assert "MAC verified" not in result.stdout and "NOT verify" not in result.stdout
    assert_no_card_data(result.stdout)


def test_decode_from_stdin(frame_hex, mak_hex):
    # Whitespace and line breaks in the pasted hex are ignored; lower case is fine.
    pasted = "\n".join(frame_hex[i:i + 32].lower() for i in range(0, len(frame_hex), 32)) + "\n"
    result = run("-", "--mak", mak_hex, *LEGACY, stdin=pasted)
    assert result.exit_code == 0, result.output
    assert "MAC verified" in result.stdout
    assert MASKED_PAN in result.stdout
    assert_no_card_data(result.stdout)
    assert result.stdout == run(frame_hex, "--mak", mak_hex, *LEGACY).stdout


def test_decode_from_stdin_truncated(frame_hex):
    result = run("-", stdin=frame_hex[:100])
    assert_one_error_line(result, "error: LEN at byte 0: length says 126 bytes, 48 follow")


@pytest.mark.parametrize("text,line", [
    ("00ZZ", "error: input at byte 1: 'Z' is not a hex digit"),
    ("007E6G", "error: input at byte 2: 'G' is not a hex digit"),
    ("007", "error: input at byte 1: odd number of hex digits"),
    ("0x007E", "error: input at byte 0: 'x' is not a hex digit"),
])
def test_malformed_hex(text, line):
    assert_one_error_line(run(text), line)


def test_truncated_frame(frame_hex):
    assert_one_error_line(run(frame_hex[:60]),
                          "error: LEN at byte 0: length says 126 bytes, 28 follow")


def test_truncated_frame_with_consistent_len(frame_hex):
    raw = bytes.fromhex(frame_hex)[:60]
    fixed = ((len(raw) - 2).to_bytes(2, "big") + raw[2:]).hex()
    assert_one_error_line(run(fixed), "error: field 35 (track 2) at byte 53: Field data is 14 "
                                      "nibbles, expecting 37")


def test_bad_bcd_nibble(frame_hex):
    raw = bytearray.fromhex(frame_hex)
    raw[42] = 0x3A  # last byte of the amount: "34" -> "3A"
    assert_one_error_line(run(raw.hex()), "error: field 4 (amount (fen)) at byte 42: "
                                          "bad BCD content")


def test_bad_bcd_nibble_in_pan_does_not_echo_the_pan(frame_hex):
    raw = bytearray.fromhex(frame_hex)
    raw[30] = 0x7A
    result = run(raw.hex())
    assert_one_error_line(result, "error: field 2 (PAN / payment code) at byte 30: "
                                  "bad BCD content")


def test_bad_tpdu(frame_hex):
    assert_one_error_line(run(frame_hex[:4] + "61" + frame_hex[6:]),
                          "error: TPDU at byte 2: TPDU must start with 60, got 61")


@pytest.mark.parametrize("key", ["00", "XYZ", "00" * 12, "0" * 33])
def test_bad_mak(frame_hex, key):
    assert_one_error_line(run(frame_hex, "--mak", key),
                          "error: --mak must be 16 or 32 hex digits")


def test_response_the_host_cannot_mac(mak_hex):
    msg = Message("0210", {11: "000001", 39: "A0", 41: "T0000001"})
    result = run(encode_frame(msg).hex(), "--mak", mak_hex)
    assert result.exit_code == 0
    assert "no MAC on this message" in result.stdout
    assert "A0 (MAC error, sign in again)" in result.stdout


def test_maced_message_without_f64(sale, mak_hex):
    result = run(encode_frame(sale).hex(), "--mak", mak_hex)
    assert result.exit_code == 0
    assert "MAC missing" in result.stdout


def test_sign_in_response_hides_the_key_block(vectors, mak_hex):
    f62 = vectors["sign_in_response_field_62"]
    msg = Message("0810", {11: "000001", 39: "00", 41: "T0000001", 60: "00000001003", 62: f62})
    result = run(encode_frame(msg).hex(), "--mak", mak_hex)
    assert result.exit_code == 0
    assert "<60-byte working key block hidden>" in result.stdout
    assert f62[:16] not in result.stdout
    assert "no MAC on this message" in result.stdout


def test_chip_data_is_summarised_not_dumped(sale, vectors):
    signed = mac.sign(sale, bytes.fromhex(vectors["working_keys_clear"]["mak"]))
    signed.fields[55] = "9F2608" + "11" * 8
    result = run(encode_frame(signed).hex())
    assert "<11 bytes of ICC data>" in result.stdout
    assert "9F2608" not in result.stdout
