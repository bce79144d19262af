"""The compiled layout (protocol/layout.py) against pyiso8583, the reference: for every message
type of the profile, the same bytes, the same fields and the same errors, on good messages, on
values that do not fit, and on bodies with bytes changed, cut or added."""

from __future__ import annotations

from typing import Any

import iso8583
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_protocol_roundtrip import value_for

from steadypos.protocol import layout
from steadypos.protocol.codec import Message, decode_body, encode_body, field_spans
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.messages import CATALOG, MessageType
from steadypos.protocol.spec import BY_NUMBER, SPEC, Field

PROPERTY = settings(deadline=None, max_examples=300,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def near_value(f: Field) -> st.SearchStrategy[str]:
    """Values around what fits: any length up to two past the longest, any character of the
    content class or a few outside it (lower-case hex, letters, a byte above ASCII)."""
    alphabet = {"n": "0123456789", "z": "0123456789D", "b": "0123456789ABCDEF"}.get(
        f.content, "".join(map(chr, range(0x20, 0x7F))))
    chars = st.sampled_from(alphabet + "aDF\x7f\xe9 ")
    longest = f.max_len * (2 if f.content == "b" else 1)
    edges = st.sampled_from([0, 1, longest - 1, longest, longest + 1, longest + 2])
    sizes = edges | st.integers(0, longest + 2)
    return sizes.flatmap(lambda n: st.text(chars, min_size=n, max_size=n))


def message_of(mt: MessageType, values: Any) -> st.SearchStrategy[Message]:
    """Messages of type `mt`: its required fields and any of its optional ones."""
    required = {n: values(BY_NUMBER[n]) for n in sorted(mt.required)}
    optional = {n: values(BY_NUMBER[n]) for n in sorted(mt.optional)}
    return st.builds(Message, st.just(str(mt.mti)),
                     st.fixed_dictionaries(required, optional=optional))


def one_near(msg: Message) -> st.SearchStrategy[Message]:
    """The message with one of its fields (or one more of the profile) set to a value around
    what fits: every other field fits, so that field alone decides."""
    def changed(pair: tuple[int, str]) -> Message:
        out = msg.copy()
        out.fields[pair[0]] = pair[1]
        return out
    numbers = st.sampled_from(sorted(msg.fields) or [4]) | st.sampled_from(sorted(BY_NUMBER))
    return numbers.flatmap(lambda n: near_value(BY_NUMBER[n]).map(lambda v: changed((n, v))))


GOOD = st.sampled_from(CATALOG).flatmap(lambda mt: message_of(mt, value_for))
NEAR = st.sampled_from(CATALOG).flatmap(lambda mt: message_of(mt, near_value)) | \
    GOOD.flatmap(one_near)


def outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    """What fn returns, or the ProtocolError it raises as (message, field, offset)."""
    try:
        return fn(*args, **kw)
    except ProtocolError as exc:
        return ("error", exc.message, exc.field, exc.offset)


def decoded(body: bytes, reference: bool) -> Any:
    got = outcome(decode_body, body, reference=reference)
    return (got.mti, got.fields, got.wire) if isinstance(got, Message) else got


@PROPERTY
@given(GOOD)
def test_good_messages_give_the_reference_bytes_and_fields(msg):
    raw = encode_body(msg.copy())
    assert raw == encode_body(msg.copy(), reference=True)
    assert layout.encode(msg.mti, msg.fields) == raw  # the layout did it, not the fallback
    assert layout.decode(raw) == (msg.mti, msg.fields)
    assert decoded(raw, False) == decoded(raw, True) == (msg.mti, msg.fields,
                                                          (msg.fields, raw))


@PROPERTY
@given(NEAR)
def test_values_that_may_not_fit_give_the_reference_bytes_or_error(msg):
    assert outcome(encode_body, msg.copy()) == outcome(encode_body, msg.copy(), reference=True)


@PROPERTY
@given(GOOD, st.data())
def test_a_changed_byte_of_a_field_decodes_or_fails_as_the_reference(msg, data):
    """A byte of one field's length prefix or of its data, the last (a pad nibble) most often."""
    body = bytearray(encode_body(msg, reference=True))
    spans = sorted(field_spans(bytes(body)).items())
    if not spans:
        return
    number, (start, end) = data.draw(st.sampled_from(spans), label="field")
    slot = layout.BY_NUMBER[number]
    places = [end - 1] * 3 + list(range(start - slot.prefix, end))
    at = data.draw(st.sampled_from(places), label="at")
    low = data.draw(st.booleans(), label="low nibble")
    nibble = data.draw(st.integers(0, 15), label="nibble")
    body[at] = (body[at] & 0xF0 | nibble) if low else (body[at] & 0x0F | nibble << 4)
    assert decoded(bytes(body), False) == decoded(bytes(body), True)


# The reference's spec with every variable field allowed 3 more: bodies whose one field is too
# long but whose every length prefix tells the truth.
LOOSE = {k: dict(v, max_len=v["max_len"] + 3) if k.isdigit() and v["len_type"] else v
         for k, v in SPEC.items()}


def too_long(msg: Message) -> st.SearchStrategy[Message]:
    """The message with one field of good characters one to three units too long."""
    def longer(n: int) -> st.SearchStrategy[Message]:
        f = BY_NUMBER[n]
        longest = f.max_len * (2 if f.content == "b" else 1)
        good = value_for(Field(n, f.name, f.content, "fixed", f.max_len + 3))
        return st.tuples(st.integers(longest + 1, longest + 3), good).map(
            lambda pair: Message(msg.mti, {**msg.fields, n: pair[1][:pair[0]]}))
    return st.sampled_from(sorted(BY_NUMBER)).flatmap(longer)


@PROPERTY
@given(GOOD.flatmap(too_long) | GOOD.flatmap(one_near), st.binary(max_size=3))
def test_too_long_fields_and_extra_bytes_decode_or_fail_as_the_reference(msg, extra):
    try:
        body = bytes(iso8583.encode({"t": msg.mti, **{str(n): v for n, v in msg.fields.items()}},
                                    LOOSE)[0]) + extra
    except iso8583.EncodeError:
        return  # a value that no layout can carry: the near values' other half
    assert decoded(body, False) == decoded(body, True)


@PROPERTY
@given(GOOD, st.data())
def test_changed_bodies_decode_or_fail_as_the_reference(msg, data):
    body = bytearray(encode_body(msg, reference=True))
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        kind = data.draw(st.sampled_from(["byte", "cut", "add", "bit"]), label="kind")
        at = data.draw(st.integers(0, max(len(body) - 1, 0)), label="at")
        if kind == "byte" and body:
            body[at] = data.draw(st.integers(0, 255), label="value")
        elif kind == "cut":
            del body[at:]
        elif kind == "add":
            body[at:at] = data.draw(st.binary(min_size=1, max_size=4), label="added")
        elif kind == "bit" and len(body) >= 10:
            bit = data.draw(st.integers(0, 63), label="bit")
            body[2 + bit // 8] ^= 0x80 >> bit % 8
    assert decoded(bytes(body), False) == decoded(bytes(body), True)


def test_a_layout_that_gives_up_leaves_the_error_to_the_reference():
    # F4 one digit short: the layout says nothing, pyiso8583 says what is wrong.
    msg = Message("0200", {4: "12345678901", 11: "000001"})
    assert layout.encode(msg.mti, msg.fields) is None
    assert outcome(encode_body, msg) == ("error", "Field data is 11 nibbles, expecting 12",
                                         "field 4 (amount (fen))", 0)
    body = bytes.fromhex("0200") + (1 << 60).to_bytes(8, "big") + bytes.fromhex("0000000012")
    assert layout.decode(body) is None
    assert outcome(decode_body, body)[0] == "error"
