"""ISO 8583 bodies of pos-link-v1 through pyiso8583, with the profile's checks on every field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import iso8583
from iso8583.decoder import DecodeError
from iso8583.encoder import EncodeError

from steadypos.protocol import layout
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.frame import PREFIX_LEN, Frame, Header, Tpdu
from steadypos.protocol.spec import BY_NUMBER, SPEC

# The first character outside each content class (n digits, z track, ans text, b uppercase hex).
_BAD_CHAR = {
    "n": re.compile(r"[^0-9]"),
    "z": re.compile(r"[^0-9D]"),
    "ans": re.compile(r"[^\x20-\x7e]"),
    "b": re.compile(r"[^0-9A-F]"),
}
_MTI = re.compile(r"^0[1-9][0-9]0$")


@dataclass
class Message:
    """A decoded message: MTI, fields by number (strings: digits, text, or uppercase hex for b),
    and the framing it came in."""

    mti: str
    fields: dict[int, str] = field(default_factory=dict)
    tpdu: Tpdu = field(default_factory=Tpdu)
    header: Header = field(default_factory=Header)
    # The body bytes these very fields were decoded from or encoded to: the MAC is computed
    # over them without encoding again. Ignored as soon as the fields differ.
    wire: tuple[dict[int, str], bytes] | None = field(default=None, compare=False, repr=False)

    def cached_body(self) -> bytes | None:
        if self.wire is not None and self.wire[0] == self.fields:
            return self.wire[1]
        return None

    def get(self, n: int, default: str = "") -> str:
        return self.fields.get(n, default)

    def __contains__(self, n: object) -> bool:
        return n in self.fields

    def copy(self, **changes: Any) -> Message:
        return replace(self, fields=dict(self.fields), **changes)


def _name(key: str) -> str:
    """How errors name a pyiso8583 key: "MTI", "bitmap" or "field N (name)"."""
    if key == "t":
        return "MTI"
    if key == "p":
        return "bitmap"
    if key.isdigit() and int(key) in BY_NUMBER:
        return f"field {key} ({BY_NUMBER[int(key)].name})"
    return f"field {key}"


def _doc(msg: Message) -> dict[str, str]:
    doc = {"t": msg.mti}
    for n, v in msg.fields.items():
        if n not in BY_NUMBER:
            raise ProtocolError(f"field {n} is not in the profile", f"field {n}", 0)
        doc[str(n)] = v
    return doc


def encode_body(msg: Message, reference: bool = False) -> bytes:
    """MTI + bitmap + fields. Raises ProtocolError naming the field that does not fit.
    `reference`: through pyiso8583 alone, never the compiled layout (the tests' yardstick; and
    where the caller has just tried the layout itself, mac.seal())."""
    cached = None if reference else msg.cached_body()
    if cached is not None:
        return cached
    raw = None if reference else layout.encode(msg.mti, msg.fields)
    if raw is None:
        raw = _encode_checked(msg)
    msg.wire = (dict(msg.fields), raw)
    return raw


def _encode_checked(msg: Message) -> bytes:
    """encode_body through the profile's checks and pyiso8583, which name what is wrong."""
    if not _MTI.match(msg.mti):
        raise ProtocolError(f"MTI {msg.mti!r} is not a pos-link message type", "MTI", 0)
    for n, v in msg.fields.items():
        spec = BY_NUMBER.get(n)
        if spec is None:
            raise ProtocolError(f"field {n} is not in the profile", f"field {n}", 0)
        if _BAD_CHAR[spec.content].search(v):
            raise ProtocolError(f"value does not fit {spec.content}", f"field {n} ({spec.name})")
    try:
        return bytes(iso8583.encode(_doc(msg), SPEC)[0])
    except EncodeError as exc:
        raise ProtocolError(exc.msg, _name(exc.field), 0) from exc


def encode_frame(msg: Message) -> bytes:
    return Frame(msg.tpdu, msg.header, encode_body(msg)).to_bytes()


def _layout(doc_enc: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """Key -> (start of its length prefix, start of its data, end), counted from the MTI."""
    spans: dict[str, tuple[int, int, int]] = {}
    pos = 0
    for key in ["t", "p"] + sorted((k for k in doc_enc if k.isdigit()), key=int):
        if key not in doc_enc:
            continue
        data = pos + len(doc_enc[key]["len"])
        spans[key] = (pos, data, data + len(doc_enc[key]["data"]))
        pos = spans[key][2]
    return spans


def field_spans(body: bytes) -> dict[int, tuple[int, int]]:
    """Where each field's data lies in an ISO body: number -> (start, end), from the MTI.
    Raises ProtocolError when the body does not decode."""
    try:
        _, doc_enc = iso8583.decode(bytes(body), SPEC)
    except DecodeError as exc:
        raise ProtocolError(exc.msg, _name(exc.field), PREFIX_LEN + exc.pos) from exc
    return {int(k): (data, end) for k, (_, data, end) in _layout(doc_enc).items() if k.isdigit()}


def decode_body(body: bytes, tpdu: Tpdu | None = None, header: Header | None = None,
                reference: bool = False) -> Message:
    """Decode and check an ISO body. Offsets in errors count from the start of the frame.
    A well-formed body goes through the compiled layout; anything else, or `reference`,
    through pyiso8583, which says what is wrong."""
    fast = None if reference else layout.decode(body)
    if fast is not None and _MTI.match(fast[0]):
        return Message(fast[0], fast[1], tpdu or Tpdu(), header or Header(),
                       (dict(fast[1]), bytes(body)))
    return _decode_checked(body, tpdu, header)


def _decode_checked(body: bytes, tpdu: Tpdu | None, header: Header | None) -> Message:
    """decode_body through pyiso8583, with the profile's checks and their exact offsets."""
    if len(body) >= 2 + 8:
        bitmap = int.from_bytes(body[2:10], "big")
        if bitmap >> 63:
            raise ProtocolError("bit 1 set: the profile has no secondary bitmap", "bitmap",
                                PREFIX_LEN + 2)
        # Before decoding: a foreign field carries data we cannot size, so every field after it
        # would be misread and the error would name the wrong one. Offset: the bitmap byte.
        for n in range(2, 65):
            if bitmap >> (64 - n) & 1 and n not in BY_NUMBER:
                raise ProtocolError("bitmap sets a field that is not in the profile",
                                    f"field {n}", PREFIX_LEN + 2 + (n - 1) // 8)
    try:
        doc_dec, doc_enc = iso8583.decode(bytes(body), SPEC)
    except DecodeError as exc:
        raise ProtocolError(exc.msg, _name(exc.field), PREFIX_LEN + exc.pos) from exc
    offsets = {k: PREFIX_LEN + start for k, (start, _, _) in _layout(doc_enc).items()}
    mti = doc_dec["t"]
    if not _MTI.match(mti):
        raise ProtocolError(f"MTI {mti!r} is not a pos-link message type", "MTI", PREFIX_LEN)
    fields: dict[int, str] = {}
    for key, value in doc_dec.items():
        if not key.isdigit():
            continue
        n = int(key)
        spec = BY_NUMBER[n]
        bad = _BAD_CHAR[spec.content].search(value)
        if bad:
            # The byte holding the first bad character: two BCD digits per byte, one ans char.
            per_byte = 2 if spec.content in "nz" else 1
            at = offsets[key] + len(doc_enc[key]["len"]) + bad.start() // per_byte
            raise ProtocolError(f"bad {'BCD' if per_byte == 2 else spec.content} content",
                                _name(key), at)
        fields[n] = value
    return Message(mti, fields, tpdu or Tpdu(), header or Header(), (dict(fields), bytes(body)))


# The TPDUs and headers seen, by their bytes: a host hears few distinct ones, and both are
# frozen, so one object serves every frame that carries those bytes.
_FRAMINGS: dict[bytes, tuple[Tpdu, Header]] = {}
_MAX_FRAMINGS = 256


def decode_payload(payload: bytes) -> Message:
    """Decode what follows the 2-byte length: TPDU, header, body."""
    head = payload[:11]
    known = type(head) is bytes and len(payload) >= 13  # hashable, and a whole frame
    framing = _FRAMINGS.get(head) if known else None  # type: ignore[call-overload]
    if framing is None:
        fr = Frame.from_payload(payload)
        if known and len(_FRAMINGS) < _MAX_FRAMINGS:
            _FRAMINGS[head] = (fr.tpdu, fr.header)
        return decode_body(fr.body, fr.tpdu, fr.header)
    return decode_body(payload[11:], *framing)


def decode_frame(raw: bytes) -> Message:
    fr = Frame.from_bytes(raw)
    return decode_body(fr.body, fr.tpdu, fr.header)
