"""The host's keyed texts (canonical.py) are json's text exactly, whatever the values hold:
stored content digests and reversal fingerprints were made from json.dumps and must still match."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from steadypos.host.canonical import content_text, object_text, pairs_text
from steadypos.host.service import VOLATILE_BY_MTI, VOLATILE_FIELDS, stable_content
from steadypos.protocol.codec import Message
from steadypos.protocol.spec import BY_NUMBER

NUMBERS = st.sampled_from(sorted(BY_NUMBER))
# Quotes, backslashes, control characters and non-ASCII: what json escapes.
VALUES = st.text(st.characters(codec="utf-8") | st.sampled_from('"\\\x00\x1f\x7f/é€'),
                 max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["0200", "0400", "0500", "0320", "0820"]),
       st.dictionaries(NUMBERS, VALUES, max_size=20))
def test_stable_content_is_the_sorted_json_of_the_stable_fields(mti, fields):
    volatile = VOLATILE_BY_MTI.get(mti, VOLATILE_FIELDS)
    expected = json.dumps([mti, {str(n): v for n, v in fields.items() if n not in volatile}],
                          sort_keys=True)
    assert stable_content(Message(mti, fields)) == expected
    assert content_text(mti, fields, ()) == json.dumps(
        [mti, {str(n): v for n, v in fields.items()}], sort_keys=True)


def test_content_outside_the_profile_goes_through_json():
    fields = {99: "x", 2: 5}  # a foreign field, a value that is no str
    assert content_text("0200", fields, ()) == json.dumps(  # type: ignore[arg-type]
        ["0200", {"99": "x", "2": 5}], sort_keys=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 200), st.none() | VALUES), max_size=12))
def test_pairs_text_is_json_of_the_pairs(pairs):
    assert pairs_text(pairs) == json.dumps(pairs)
    assert pairs_text(sorted(pairs, key=lambda p: p[0])) == json.dumps(
        sorted(pairs, key=lambda p: p[0]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(VALUES, VALUES, max_size=12))
def test_object_text_is_the_sorted_json_of_the_mapping(obj):
    assert object_text(obj) == json.dumps(obj, sort_keys=True)
    assert object_text({"2": None, "1": 5}) == json.dumps(  # type: ignore[dict-item]
        {"2": None, "1": 5}, sort_keys=True)
