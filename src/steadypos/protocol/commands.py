"""CLI: `steadypos decode` prints a framed message field by field."""

from __future__ import annotations

import string
import sys

import typer
from rich.console import Console
from rich.table import Table

from steadypos.protocol.codec import decode_frame
from steadypos.protocol.describe import mac_status, rows
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.mac import DEFAULT_MAC, WEAK_MAC_NOTE, MacAlgorithm


def parse_hex(text: str) -> bytes:
    """Frame bytes from hex; ProtocolError at the byte where the hex stops being hex."""
    for i, ch in enumerate(text):
        if ch not in string.hexdigits:
            raise ProtocolError(f"{ch!r} is not a hex digit", "input", i // 2)
    if len(text) % 2:
        raise ProtocolError("odd number of hex digits", "input", len(text) // 2)
    return bytes.fromhex(text)


def decode(
    hex_frame: str = typer.Argument(..., metavar="HEX",
                                    help="framed message in hex, or - for stdin"),
    mak: str = typer.Option(None, "--mak", help="MAC key (32 hex digits) to verify F64"),
    alg: MacAlgorithm = typer.Option(DEFAULT_MAC.value, "--mac",
                                     help="the terminal's MAC algorithm (pos_ecb: legacy)"),
) -> None:
    """Decode a framed pos-link-v1 message (LEN + TPDU + header + ISO 8583) field by field."""
    err = Console(stderr=True)
    text = sys.stdin.read() if hex_frame == "-" else hex_frame
    text = "".join(text.split())
    try:
        raw = parse_hex(text)
    except ProtocolError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    key = None
    if mak is not None:
        try:
            key = bytes.fromhex(mak)
        except ValueError:
            key = b""
        if len(key) not in (8, 16):
            err.print("error: --mak must be 16 or 32 hex digits", highlight=False)
            raise typer.Exit(2)
        if alg is MacAlgorithm.X919 and len(key) != 16:
            err.print("error: --mac x919 needs the whole MAK (32 hex digits)", highlight=False)
            raise typer.Exit(2)
    try:
        msg = decode_frame(raw)
    except ProtocolError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table(title=f"{len(raw)}-byte frame")
    for col in ("field", "name", "value"):
        table.add_column(col)
    for r in rows(msg):
        table.add_row(r.field, r.name, r.value)
    out = Console()
    out.print(table)
    if key is not None:
        status = mac_status(msg, key, alg)
        out.print(f"{status} ({alg.value})", highlight=False)
        if alg.weak:
            out.print(f"note: {WEAK_MAC_NOTE}", highlight=False)
        if status == "MAC does NOT verify":
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
