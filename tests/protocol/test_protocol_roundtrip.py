"""Properties: any valid message survives encode -> decode; the MAC catches any flipped bit."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadypos.protocol import layout, mac
from steadypos.protocol.codec import Message, decode_frame, encode_body, encode_frame
from steadypos.protocol.codes import UNMACED_CODES
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import PREFIX_LEN, Header, Tpdu
from steadypos.protocol.spec import FIELDS, Field

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def value_for(f: Field) -> st.SearchStrategy[str]:
    """Values that fit one field of spec.FIELDS: content class and length."""
    lo = f.max_len if f.length == "fixed" else 0
    if f.content in ("n", "z"):
        alphabet = "0123456789D" if f.content == "z" else "0123456789"
        return st.text(alphabet, min_size=lo, max_size=f.max_len)
    if f.content == "ans":
        chars = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
        return st.text(chars, min_size=lo, max_size=f.max_len)
    return st.binary(min_size=lo, max_size=f.max_len).map(lambda b: b.hex().upper())


ALL_FIELDS = st.fixed_dictionaries({}, optional={f.number: value_for(f) for f in FIELDS})
MTIS = st.from_regex(r"0[1-9][0-9]0", fullmatch=True)
TPDUS = st.builds(Tpdu, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
HEADERS = st.builds(Header, st.integers(0, 15), st.integers(0, 15))
MESSAGES = st.builds(Message, MTIS, ALL_FIELDS, TPDUS, HEADERS)
KEYS = st.binary(min_size=16, max_size=16)


@PROPERTY
@given(MESSAGES)
def test_encode_decode_round_trip(msg):
    raw = encode_frame(msg)
    assert int.from_bytes(raw[:2], "big") == len(raw) - 2
    back = decode_frame(raw)
    assert back.mti == msg.mti
    assert back.fields == msg.fields
    assert back.tpdu == msg.tpdu
    assert back.header == msg.header
    assert encode_frame(back) == raw
    bitmap = int.from_bytes(raw[15:23], "big")
    assert {n for n in range(1, 65) if bitmap >> (64 - n) & 1} == set(msg.fields)


@given(st.sampled_from(FIELDS).flatmap(lambda f: st.tuples(st.just(f.number), value_for(f))))
def test_every_field_alone_round_trips(pair):
    n, value = pair
    msg = Message("0200", {n: value})
    assert decode_frame(encode_frame(msg)).fields == {n: value}


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f"F{f.number}")
def test_longest_value_of_every_field_round_trips(f):
    value = {"n": "9", "z": "D", "ans": "~", "b": "FF"}[f.content] * f.max_len
    assert decode_frame(encode_frame(Message("0200", {f.number: value}))).fields == {
        f.number: value}


@pytest.mark.parametrize("f", [f for f in FIELDS if f.length != "fixed"],
                         ids=lambda f: f"F{f.number}")
def test_one_over_the_longest_value_is_refused(f):
    value = {"n": "9", "z": "D", "ans": "~", "b": "FF"}[f.content] * (f.max_len + 1)
    with pytest.raises(ProtocolError) as exc:
        encode_frame(Message("0200", {f.number: value}))
    assert exc.value.field.startswith(f"field {f.number} (")


MACED_MESSAGES = st.builds(
    Message,
    st.sampled_from(sorted(mac.MACED_MTIS)),
    ALL_FIELDS.map(lambda d: {n: v for n, v in d.items() if n != 39}),
)


ALGS = st.sampled_from(list(mac.MacAlgorithm))


@PROPERTY
@given(MACED_MESSAGES, KEYS, ALGS)
def test_sign_then_verify(msg, key, alg):
    signed = mac.sign(msg, key, alg)
    assert 64 in signed.fields
    assert mac.verify(signed, key, alg)
    raw = encode_frame(signed)
    # F64 is the MAC of the bytes on the wire, MTI to just before F64.
    assert raw[-8:] == mac.ALGORITHMS[alg](key, raw[PREFIX_LEN:-8])
    assert mac.verify(decode_frame(raw), key, alg)


@PROPERTY
@given(MACED_MESSAGES, KEYS)
def test_the_two_algorithms_never_stand_for_each_other(msg, key):
    """A frame MAC'd with one algorithm does not verify under the other (1.1: a terminal's
    registration names one, and the host refuses the other with A0)."""
    for alg in mac.MacAlgorithm:
        other = next(a for a in mac.MacAlgorithm if a != alg)
        assert not mac.verify(mac.sign(msg, key, alg), key, other)


@PROPERTY
@given(MACED_MESSAGES, KEYS, ALGS, st.data())
def test_flipping_any_bit_of_the_maced_region_fails_verify(msg, key, alg, data):
    raw = bytearray(encode_frame(mac.sign(msg, key, alg)))
    bit = data.draw(st.integers(PREFIX_LEN * 8, (len(raw) - 8) * 8 - 1), label="bit")
    raw[bit // 8] ^= 0x80 >> (bit % 8)
    try:
        tampered = decode_frame(bytes(raw))
    except ProtocolError:
        return  # refused before the MAC check: also a rejection
    assert not mac.verify(tampered, key, alg)


def test_flipping_each_bit_of_the_vector_sale_fails_verify(sale_frame, mak):
    """The 1.0 vector sale is MAC'd with pos_ecb (a single flipped bit never cancels out)."""
    decoded = 0
    for bit in range(PREFIX_LEN * 8, (len(sale_frame) - 8) * 8):
        raw = bytearray(sale_frame)
        raw[bit // 8] ^= 0x80 >> (bit % 8)
        try:
            tampered = decode_frame(bytes(raw))
        except ProtocolError:
            continue
        decoded += 1
        assert not mac.verify(tampered, mak, mac.MacAlgorithm.POS_ECB), \
            f"bit {bit} flipped and the MAC still verifies"
    assert decoded > 300  # most flips decode (digits stay digits): the MAC must catch them


def test_flipping_a_bit_of_f64_fails_verify(sale_frame, mak):
    for bit in range((len(sale_frame) - 8) * 8, len(sale_frame) * 8):
        raw = bytearray(sale_frame)
        raw[bit // 8] ^= 0x80 >> (bit % 8)
        assert not mac.verify(decode_frame(bytes(raw)), mak, mac.MacAlgorithm.POS_ECB)


@PROPERTY
@given(MACED_MESSAGES, KEYS, KEYS, ALGS)
def test_other_key_fails_verify(msg, key, other, alg):
    # DES ignores the parity bit (bit 0 of each byte); pos_ecb uses only the MAK's left half.
    if bytes(b & 0xFE for b in key[:8]) == bytes(b & 0xFE for b in other[:8]):
        return
    assert not mac.verify(mac.sign(msg, key, alg), other, alg)


# --- which messages carry a MAC (§4) ------------------------------------------------------------


# 1.1 adds settlement, batch upload and sign-out (0820/0830 with 60.3 = 002) to the MAC'd ones.
@pytest.mark.parametrize("mti, f60", [(m, "") for m in ("0200", "0210", "0220", "0230", "0400",
                                                        "0410", "0500", "0510", "0320", "0330")]
                         + [("0820", "00000001002"), ("0830", "00000001002")])
def test_maced_mtis(mti, f60, mak):
    fields = {11: "000001", **({60: f60} if f60 else {})}
    assert mac.needs_mac(Message(mti, fields))
    assert 64 in mac.sign(Message(mti, fields), mak).fields


@pytest.mark.parametrize("mti, f60", [("0800", "00000001003"), ("0810", "00000001003"),
                                      ("0820", "00000001301"), ("0830", "00000001301")],
                         ids=["sign-in", "sign-in answer", "echo", "echo answer"])
def test_unmaced_mtis(mti, f60, mak):
    msg = Message(mti, {11: "000001", 60: f60, 64: "3232333738334632"})
    assert not mac.needs_mac(msg)
    assert 64 not in mac.sign(msg, mak).fields


@pytest.mark.parametrize("rc", sorted(UNMACED_CODES))
@pytest.mark.parametrize("mti", ["0210", "0230", "0410", "0510", "0330"])
def test_responses_the_host_cannot_mac(mti, rc, mak):
    msg = Message(mti, {11: "000001", 39: rc})
    assert not mac.needs_mac(msg)
    assert 64 not in mac.sign(msg, mak).fields


@pytest.mark.parametrize("rc", ["00", "05", "51", "55"])
def test_responses_with_other_codes_are_maced(rc, mak):
    assert mac.needs_mac(Message("0210", {11: "000001", 39: rc}))
    # A request carrying 39 (a reversal's reason A0) is still MAC'd.
    assert mac.needs_mac(Message("0400", {11: "000001", 39: "A0"}))


def test_verify_without_f64_is_false(sale, mak):
    assert not mac.verify(sale, mak)


def test_a_message_the_layout_refuses_is_tried_there_once_and_the_error_named(mak, monkeypatch):
    """seal(): the compiled layout first; when it says no, pyiso8583's checks alone, which say
    what does not fit (not the layout a second time)."""
    tried: list[str] = []
    encode = layout.encode
    monkeypatch.setattr(layout, "encode",
                        lambda mti, fields: tried.append(mti) or encode(mti, fields))
    msg = Message("0200", {11: "000001", 41: "T000000\x01"})  # F41 is ans: no control bytes
    with pytest.raises(ProtocolError) as said:
        mac.seal(msg.copy(), mak)
    assert tried == ["0200"]
    with pytest.raises(ProtocolError) as reference:
        encode_body(Message("0200", {**msg.fields, 64: "00" * 8}), reference=True)
    assert (said.value.message, said.value.field) == (reference.value.message,
                                                      reference.value.field)
