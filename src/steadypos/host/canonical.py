"""The two JSON texts the host keys per request (a request's stable content, a reversible
request's repeated fields), and the stored part of its answer, written out directly: the same
text as json.dumps gives, at half its cost. Stored digests are of that text, so it must never
change: tests/host/test_canonical.py compares each with json on arbitrary values, and anything
unexpected goes through json."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _quoted  # json's own escaping, in C

from steadypos.protocol.spec import BY_NUMBER

# json.dumps(..., sort_keys=True) without building an encoder per call: the same text.
SORTED_JSON = json.JSONEncoder(sort_keys=True)
PLAIN_JSON = json.JSONEncoder()
# sort_keys orders the fields' keys as strings ("11" before "2"): each field's rank there.
_KEY_RANK = {n: i for i, n in enumerate(sorted(BY_NUMBER, key=str))}
_KEYS = {n: f'"{n}": ' for n in BY_NUMBER}
# {n:d}'s text of an int (a TypeError for anything else), without parsing a format spec
_int_text = int.__repr__


def content_text(mti: str, fields: Mapping[int, str], leave_out: Collection[int]) -> str:
    """SORTED_JSON.encode([mti, {str(n): v for n, v in fields.items() if n not in leave_out}])."""
    try:
        body = ", ".join([_KEYS[n] + _quoted(fields[n])
                          for n in sorted(fields, key=_KEY_RANK.__getitem__)
                          if n not in leave_out])
        return f"[{_quoted(mti)}, {{{body}}}]"
    except (KeyError, TypeError):  # a field outside the profile, a value that is no str
        return SORTED_JSON.encode([mti, {str(n): v for n, v in fields.items()
                                         if n not in leave_out}])


def object_text(obj: Mapping[str, str]) -> str:
    """SORTED_JSON.encode(obj) of a {str: str} mapping (a stored answer's fields)."""
    try:
        return "{" + ", ".join([f"{_quoted(k)}: {_quoted(obj[k])}" for k in sorted(obj)]) + "}"
    except TypeError:  # a key or a value that is no str
        return SORTED_JSON.encode(obj)


def pairs_text(pairs: Sequence[tuple[int, str | None]]) -> str:
    """PLAIN_JSON.encode(pairs) of (field number, value or None) pairs."""
    try:
        return "[" + ", ".join([f"[{_int_text(n)}, {'null' if v is None else _quoted(v)}]"
                                for n, v in pairs]) + "]"
    except (TypeError, ValueError):  # no int, no str: json says what it makes of them
        return PLAIN_JSON.encode(pairs)
