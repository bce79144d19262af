"""A decoded frame as rows a person can read: names, masked card data, and the MAC check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from steadypos.masking import mask_pan
from steadypos.protocol import mac
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import describe as describe_rc
from steadypos.protocol.messages import classify
from steadypos.protocol.spec import BY_NUMBER, PAN_FIELDS, SECRET_FIELDS


@dataclass(frozen=True)
class Row:
    field: str
    name: str
    value: str


# How each of the spec's SECRET_FIELDS is shown: what it is and its size, never its content.
HIDDEN: dict[int, Callable[[str], str]] = {
    35: lambda v: f"<track data, {len(v)} characters hidden>",
    36: lambda v: f"<track data, {len(v)} characters hidden>",
    52: lambda v: "<PIN block hidden>",
    55: lambda v: f"<{len(v) // 2} bytes of ICC data>",
    62: lambda v: f"<{len(v) // 2}-byte working key block hidden>",
}


def shown_value(n: int, value: str) -> str:
    """What may be shown of a field: PAN masked; track data, PIN block, keys, ICC data hidden."""
    if n in PAN_FIELDS:
        return mask_pan(value)
    if n in SECRET_FIELDS:
        return HIDDEN[n](value)
    if n == 39:
        return f"{value} ({describe_rc(value)})"
    if n == 64:
        return f"{bytes.fromhex(value).decode('ascii', 'replace')} (hex {value})"
    return value


def rows(msg: Message) -> list[Row]:
    mt = classify(msg)
    out = [
        Row("TPDU", "transport header", msg.tpdu.to_bytes().hex().upper()),
        Row("header", "application header",
            f"{msg.header.to_bytes().hex().upper()} (state {msg.header.state}, "
            f"processing {msg.header.proc})"),
        Row("MTI", "message type", msg.mti + (f" ({mt.name})" if mt else "")),
    ]
    for n in sorted(msg.fields):
        out.append(Row(str(n), BY_NUMBER[n].name, shown_value(n, msg.fields[n])))
    return out


def mac_status(msg: Message, mak: bytes, alg: mac.MacAlgorithm = mac.DEFAULT_MAC) -> str:
    if not mac.needs_mac(msg):
        return "no MAC on this message"
    if 64 not in msg:
        return "MAC missing"
    return "MAC verified" if mac.verify(msg, mak, alg) else "MAC does NOT verify"
