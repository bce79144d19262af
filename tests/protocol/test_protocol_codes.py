"""The code tables against the spec's own text: §5 response codes and reversal reasons, and the
request/response MTI pairs of §3."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steadypos.protocol.codes import ResponseCode, ReversalReason, describe
from steadypos.protocol.describe import HIDDEN, shown_value
from steadypos.protocol.messages import CATALOG, MessageName
from steadypos.protocol.mti import Mti, is_request, is_response, response_mti
from steadypos.protocol.spec import SECRET_FIELDS

SPEC = (Path(__file__).parents[2] / "docs" / "pos-link-v1.md").read_text()


def _section(title: str) -> str:
    start = SPEC.index(f"## {title}")
    return SPEC[start:SPEC.index("\n## ", start + 1)]


def test_response_codes_are_the_codes_of_section_5() -> None:
    text = _section("5. Response codes").split("Reversal reasons")[0]
    listed = set(re.findall(r"(?:^|· |\n)([0-9A]\d) ", text))
    assert listed == {c.value for c in ResponseCode}


def test_reversal_reasons_are_those_of_section_5() -> None:
    text = " ".join(_section("5. Response codes").split("Reversal reasons")[1].split())
    assert re.findall(r"`(\w\w)` ([a-zA-Z ]+?)(?:,|\.)", text) == \
        [(r.value, r.meaning) for r in ReversalReason]


def test_describe_prefers_the_response_meaning() -> None:
    assert describe("96") == "system error"
    assert describe("98") == "no response"
    assert describe("A0") == "MAC error, sign in again"
    assert describe("ZZ") == "unknown code"


def test_response_codes_compare_as_their_wire_text() -> None:
    assert ResponseCode.APPROVED == "00"
    assert f"{ResponseCode.MAC_ERROR}" == "A0"
    assert "51" in frozenset({ResponseCode.INSUFFICIENT_FUNDS})


def test_response_mtis_are_the_pairs_of_section_3() -> None:
    text = _section("3. Messages")
    pairs = set()
    for row in text.splitlines():
        m = re.match(r"\| [^|]+ \| (\d{4}) /[^|]*\|[^|]*\| (\d{4})", row)
        if m:
            pairs.add((m.group(1), m.group(2)))
    assert pairs == {(m.value, m.response) for m in Mti}
    assert {mt.mti for mt in CATALOG} == set(Mti)


@pytest.mark.parametrize("mti,request_,response", [
    ("0200", True, False), ("0220", True, False), ("0210", False, True), ("0230", False, True),
    ("0600", True, False), ("0201", False, False),
])
def test_request_and_response_shapes(mti: str, request_: bool, response: bool) -> None:
    assert is_request(mti) is request_
    assert is_response(mti) is response
    if request_:
        assert is_response(response_mti(mti))


def test_reversibility_follows_section_6_rule_1() -> None:
    assert {mt.name for mt in CATALOG if mt.reversible} == {MessageName.SALE, MessageName.VOID}


def test_every_secret_field_is_shown_hidden_and_its_content_never() -> None:
    assert set(HIDDEN) == SECRET_FIELDS
    secret = "6222020000000123D3012"
    for n in sorted(SECRET_FIELDS):
        shown = shown_value(n, secret)
        assert shown.startswith("<") and secret not in shown
    assert shown_value(2, "6222020000000123") == "622202******0123"
