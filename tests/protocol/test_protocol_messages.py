"""The §3 catalogue: classify, required/forbidden fields, and the structured fields' helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadypos.protocol import fields as F
from steadypos.protocol.codec import Message, decode_frame, encode_frame
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.messages import (
    BY_NAME,
    CATALOG,
    REVERSAL_FORBIDDEN,
    REVERSIBLE_BY_60_1,
    classify,
    missing_or_extra,
)

IDS = {11: "000001", 41: "T0000001", 42: "898310012345678"}
CARD = {2: "6222021234567890123", 14: "2912", 22: "021", 25: "00", 26: "12",
        35: "6222021234567890123D29121010000000000", 49: "156", 52: "E8A3B2F04FC1E394",
        53: "2600000000000000", 64: "3232333738334632"}
SALE = {**IDS, **CARD, 3: "000000", 4: "000000001234", 60: "22000001"}


def _without(d: dict[int, str], *numbers: int) -> dict[int, str]:
    return {n: v for n, v in d.items() if n not in numbers}


# One well-formed request of every message of §3 (1.1: settlement, batch upload, sign-out MAC'd).
REQUESTS: dict[str, Message] = {
    "sign_in": Message("0800", {**IDS, 60: "00000001003", 63: "001"}),
    "sign_out": Message("0820", {**IDS, 60: "00000001002", 64: "3232333738334632"}),
    "echo": Message("0820", {**IDS, 60: "00000001301"}),
    "balance": Message("0200", {**IDS, **CARD, 3: "310000", 60: "01000001"}),
    "sale": Message("0200", SALE),
    "void": Message("0200", {**SALE, 3: "200000", 60: "23000001", 37: "000000000001",
                             38: "123456", 61: "000001000001", 11: "000002"}),
    "refund": Message("0220", {**_without(SALE, 26, 52, 53), 3: "200000", 60: "25000001",
                               37: "000000000001", 61: "0000010000010312", 22: "022"}),
    "reversal": Message("0400", {**_without(SALE, 26, 35, 52, 53), 39: "98"}),
    "settle": Message("0500", {**IDS, 48: F.Totals(1234, 1).format(), 49: "156",
                               60: "00000001201", 63: "001", 64: "3232333738334632"}),
    "batch_upload": Message("0320", {**IDS, 60: "00000001201", 48: F.format_batch_records(
        [F.BatchRecord(1, "6222021234567890123", 1234)]), 64: "3232333738334632"}),
    "batch_upload_end": Message("0320", {**IDS, 60: "00000001202", 48: "0001",
                                         64: "3232333738334632"}),
}


def test_every_message_of_section_3_has_a_request_here():
    assert set(REQUESTS) == {m.name for m in CATALOG}
    assert len(CATALOG) == 11


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_classify_recognises(name):
    assert classify(REQUESTS[name]) is BY_NAME[name]


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_well_formed_requests_have_nothing_missing_or_extra(name):
    assert missing_or_extra(REQUESTS[name], BY_NAME[name]) == (set(), set())


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_classify_after_the_wire(name):
    assert classify(decode_frame(encode_frame(REQUESTS[name]))) is BY_NAME[name]


def test_vector_sale_is_a_sale(sale):
    assert classify(sale).name == "sale"
    assert missing_or_extra(sale, BY_NAME["sale"]) == ({64}, set())


def test_f60_extensions_do_not_change_the_type():
    # 60.3 then 60.4 and 60.5, as real terminals send them: accepted and ignored.
    assert classify(Message("0200", {**SALE, 60: "2200000100050"})).name == "sale"
    assert classify(Message("0820", {**IDS, 60: "0000000130150"})).name == "echo"


def test_reversal_of_a_void_is_a_reversal():
    msg = Message("0400", {**_without(SALE, 26, 35, 52, 53), 3: "200000", 60: "23000001",
                           61: "000001000001", 39: "A0"})
    assert classify(msg).name == "reversal"
    assert missing_or_extra(msg, BY_NAME["reversal"]) == (set(), set())


@pytest.mark.parametrize("msg", [
    Message("0100", IDS),                                        # not a pos-link MTI
    Message("0200", {**SALE, 3: "300000"}),                      # unknown processing code
    Message("0200", {**SALE, 60: "99000001"}),                   # unknown 60.1
    Message("0200", _without(SALE, 3)),
    Message("0820", {**IDS, 60: "00000001999"}),                 # unknown 60.3
    Message("0820", {**IDS, 60: "00000001"}),                    # 60.3 missing
    Message("0800", IDS),                                        # no F60 at all
    Message("0320", {**IDS, 60: "00000001203"}),
    Message("0220", {**SALE, 3: "200000", 60: "22000001"}),      # refund MTI, sale 60.1
    Message("0810", IDS),                                        # a response, not a request
])
def test_classify_returns_none_for_unknown(msg):
    assert classify(msg) is None


@pytest.mark.parametrize("extra", [26, 35, 36, 52, 53])
def test_reversal_must_not_carry(extra):
    value = {26: "12", 35: CARD[35], 36: "1234", 52: CARD[52], 53: CARD[53]}[extra]
    msg = REQUESTS["reversal"].copy()
    msg.fields[extra] = value
    assert missing_or_extra(msg, BY_NAME["reversal"]) == (set(), {extra})


def test_reversal_carrying_track_2_and_pin_block():
    msg = Message("0400", {**SALE, 39: "98"})  # the whole sale copied, 26 35 52 53 included
    assert missing_or_extra(msg, BY_NAME["reversal"]) == (set(), {26, 35, 52, 53})
    assert frozenset({26, 35, 36, 52, 53}) == REVERSAL_FORBIDDEN


def test_reversal_without_reason():
    msg = Message("0400", _without(REQUESTS["reversal"].fields, 39, 64))
    assert missing_or_extra(msg, BY_NAME["reversal"]) == ({39, 64}, set())


def test_missing_and_extra_together():
    msg = Message("0200", {**_without(SALE, 4, 41), 62: "00", 48: "0"})
    assert missing_or_extra(msg, BY_NAME["sale"]) == ({4, 41}, {48, 62})


def test_sign_in_with_pan_is_extra():
    msg = Message("0800", {**REQUESTS["sign_in"].fields, 2: CARD[2]})
    assert missing_or_extra(msg, BY_NAME["sign_in"]) == (set(), {2})


def test_void_needs_original_rrn_and_batch_stan():
    msg = Message("0200", _without(REQUESTS["void"].fields, 37, 38, 61))
    # 1.1: the original auth code (38) is required too (§3 lists it; §7 checks it).
    assert missing_or_extra(msg, BY_NAME["void"]) == ({37, 38, 61}, set())


@pytest.mark.parametrize("name,fields", [
    ("sign_in", {11, 41, 42, 60, 63}),
    ("sign_out", {11, 41, 42, 60, 64}),
    ("echo", {11, 41, 42, 60}),
    ("balance", {2, 3, 11, 14, 22, 25, 26, 35, 41, 42, 49, 52, 53, 60, 64}),
    ("settle", {11, 41, 42, 48, 49, 60, 63, 64}),
    ("batch_upload", {11, 41, 42, 48, 60, 64}),
    ("batch_upload_end", {11, 41, 42, 48, 60, 64}),
])
def test_required_fields_match_section_3(name, fields):
    assert BY_NAME[name].required == fields


@pytest.mark.parametrize("name,fields", [
    ("sign_in", {11, 12, 13, 32, 37, 39, 41, 42, 60, 62}),
    ("sign_out", {11, 39, 41, 42, 60, 64}),
    ("balance", {2, 3, 11, 12, 13, 37, 39, 41, 42, 54, 60, 64}),
    ("sale", {2, 3, 4, 11, 12, 13, 15, 25, 32, 37, 38, 39, 41, 42, 44, 49, 55, 60, 63, 64}),
    ("reversal", {2, 3, 4, 11, 12, 13, 37, 39, 41, 42, 60, 64}),
    ("settle", {11, 12, 13, 15, 37, 39, 41, 42, 48, 49, 60, 64}),
    ("batch_upload", {11, 39, 41, 42, 60, 64}),
])
def test_response_fields_match_section_3(name, fields):
    assert BY_NAME[name].response == fields


@pytest.mark.parametrize("name,mti", [
    ("sign_in", "0810"), ("sign_out", "0830"), ("echo", "0830"), ("balance", "0210"),
    ("sale", "0210"), ("void", "0210"), ("refund", "0230"), ("reversal", "0410"),
    ("settle", "0510"), ("batch_upload", "0330"), ("batch_upload_end", "0330"),
])
def test_response_mti(name, mti):
    assert BY_NAME[name].response_mti == mti


def test_reversible_and_money_moving():
    assert {m.name for m in CATALOG if m.reversible} == {"sale", "void"}
    assert {m.name for m in CATALOG if m.moves_money} == {"sale", "void", "refund", "reversal"}
    assert {k: m.name for k, m in REVERSIBLE_BY_60_1.items()} == {"22": "sale", "23": "void"}


# --- F22 entry mode ---------------------------------------------------------------------------

QR = {2, 3, 4, 11, 22, 25, 41, 42, 49, 60, 64}
SWIPE = QR | {14, 35}


@pytest.mark.parametrize("f22,present,problem", [
    ("032", QR, None),
    ("032", QR | {35}, "F22 032 must not carry field(s) [35]"),
    ("032", QR | {14, 35, 52, 53}, "F22 032 must not carry field(s) [14, 35, 52, 53]"),
    ("031", QR, "F22 031 says PIN entered but 52/53 are missing"),
    ("021", SWIPE | {26, 52, 53}, None),
    ("022", SWIPE, None),
    ("021", QR | {52, 53}, "F22 021 needs field(s) [35]"),
    ("022", QR, "F22 022 needs field(s) [35]"),
    ("021", SWIPE, "F22 021 says PIN entered but 52/53 are missing"),
    ("021", SWIPE | {52}, "F22 021 says PIN entered but 52/53 are missing"),
    ("021", SWIPE | {53}, "F22 021 says PIN entered but 52/53 are missing"),
    ("022", SWIPE | {52, 53}, "F22 022 says no PIN but 52 is present"),
    ("022", SWIPE | {55}, "F22 022 must not carry field(s) [55]"),
    ("051", QR | {23, 55, 52, 53}, None),
    ("052", QR | {23, 55}, None),
    ("052", QR | {23}, "F22 052 needs field(s) [55]"),
    ("052", QR, "F22 052 needs field(s) [23, 55]"),
    ("072", QR | {55}, None),
    ("072", QR, "F22 072 needs field(s) [55]"),
    ("042", SWIPE, "F22 042 is not a known entry mode"),
    ("023", SWIPE, "F22 023 is not a known entry mode"),
    ("02", SWIPE, "F22 02 is not a known entry mode"),
])
def test_entry_mode_problem(f22, present, problem):
    assert F.entry_mode_problem(f22, set(present)) == problem


def test_vector_sale_entry_mode_fits(sale):
    assert F.entry_mode_problem(sale.get(22), set(sale.fields)) is None


# --- F60, F61 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,parsed", [
    ("22000001", F.Field60("22", 1)),
    ("00000123003", F.Field60("00", 123, "003")),
    ("2200000100050", F.Field60("22", 1, "000", "50")),
    ("01999999", F.Field60("01", 999999)),
])
def test_field60(raw, parsed):
    assert F.Field60.parse(raw) == parsed
    assert parsed.format() == raw


@pytest.mark.parametrize("raw", ["", "2200001", "22A00001", "22 00001"])
def test_field60_rejects(raw):
    with pytest.raises(ProtocolError) as exc:
        F.Field60.parse(raw)
    assert exc.value.field == "field 60"


@pytest.mark.parametrize("raw,parsed", [
    ("000001000123", F.Field61(1, 123)),
    ("0000010001230312", F.Field61(1, 123, "0312")),
    ("999999999999", F.Field61(999999, 999999)),
])
def test_field61(raw, parsed):
    assert F.Field61.parse(raw) == parsed
    assert parsed.format() == raw


@pytest.mark.parametrize("raw", ["", "00000100012", "00000100012X"])
def test_field61_rejects(raw):
    with pytest.raises(ProtocolError) as exc:
        F.Field61.parse(raw)
    assert exc.value.field == "field 61"


@given(st.integers(0, 99), st.integers(0, 999999), st.sampled_from(["", "003", "201"]))
def test_field60_round_trip(t, batch, net):
    f = F.Field60(f"{t:02d}", batch, net)
    assert F.Field60.parse(f.format()) == f


# --- F48 settlement totals and batch records ----------------------------------------------------


def test_totals_format():
    raw = F.Totals(123456, 3, 1000, 1).format()
    assert raw == "000000123456" "003" "000000001000" "001" "0" + "0" * 30 + "0"
    assert len(raw) == 62
    assert F.Totals().format("1") == "0" * 30 + "1" + "0" * 30 + "1"


@given(st.integers(0, 10**12 - 1), st.integers(0, 999), st.integers(0, 10**12 - 1),
       st.integers(0, 999), st.sampled_from(["0", "1", "2", "3"]))
def test_totals_round_trip(dt, dc, ct, cc, result):
    t = F.Totals(dt, dc, ct, cc)
    assert F.Totals.parse(t.format(result)) == (t, result)


def test_totals_result_of_a_0510():
    raw = "000000123456003000000001000001" "2" + "0" * 30 + "1"
    assert F.Totals.parse(raw) == (F.Totals(123456, 3, 1000, 1), F.SETTLE_UNBALANCED)


@pytest.mark.parametrize("raw", ["", "0" * 30, "0" * 29 + "A0"])
def test_totals_rejects(raw):
    with pytest.raises(ProtocolError) as exc:
        F.Totals.parse(raw)
    assert exc.value.field == "field 48"


def test_totals_fit_f48_on_the_wire():
    msg = Message("0500", {**REQUESTS["settle"].fields, 48: F.Totals(10**12 - 1, 999).format()})
    assert decode_frame(encode_frame(msg)).fields[48] == msg.fields[48]


def test_batch_record_format():
    rec = F.BatchRecord(1, "6222021234567890123", 1234)
    assert rec.format() == "00" "000001" "06222021234567890123" "000000001234"
    assert F.format_batch_records([rec]) == "01" + rec.format()
    assert F.format_batch_records([]) == "00"


PANS = st.from_regex(r"[1-9][0-9]{11,18}", fullmatch=True)
RECORDS = st.lists(st.builds(F.BatchRecord, st.integers(1, 999999), PANS,
                             st.integers(0, 10**12 - 1)), max_size=8)


@given(RECORDS)
def test_batch_records_round_trip(records):
    raw = F.format_batch_records(records)
    assert len(raw) == 2 + 40 * len(records)
    assert F.parse_batch_records(raw) == records
    msg = Message("0320", {**REQUESTS["batch_upload"].fields, 48: raw})
    assert decode_frame(encode_frame(msg)).fields[48] == raw  # 8 records fit F48's 322 digits


def test_batch_records_at_most_8():
    with pytest.raises(ValueError):
        F.format_batch_records([F.BatchRecord(1, "6222021234567890123", 1)] * 9)


@pytest.mark.parametrize("raw", ["", "X1", "01", "01" + "0" * 39, "09" + "0" * 360])
def test_batch_records_rejects(raw):
    with pytest.raises(ProtocolError) as exc:
        F.parse_batch_records(raw)
    assert exc.value.field == "field 48"


# --- F54 balance --------------------------------------------------------------------------------


@pytest.mark.parametrize("fen,raw", [
    (123456, "1002156C000000123456"),
    (0, "1002156C000000000000"),
    (-500, "1002156D000000000500"),
    (10**12 - 1, "1002156C999999999999"),
])
def test_balance(fen, raw):
    assert F.format_balance(fen) == raw
    assert F.parse_balance(raw) == fen


@given(st.integers(-(10**12 - 1), 10**12 - 1))
def test_balance_round_trip(fen):
    raw = F.format_balance(fen)
    assert len(raw) == 20
    assert F.parse_balance(raw) == fen
    msg = Message("0210", {11: "000001", 54: raw})
    assert decode_frame(encode_frame(msg)).fields[54] == raw


@pytest.mark.parametrize("raw", ["", "1002156X000000000500", "1002156C00000000050",
                                 "1002156C0000000005A0"])
def test_balance_rejects(raw):
    with pytest.raises(ProtocolError) as exc:
        F.parse_balance(raw)
    assert exc.value.field == "field 54"
