"""CLI: `steadypos demo-data` (the demo world `host --seed-demo` loads) and `demo-data card`
(a card file, docs/cards.md, for `terminal sale --card-file`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from steadypos import cards
from steadypos.cli_tables import show_table
from steadypos.host.demo_data import DEMO_ISSUER_MK, demo_data
from steadypos.masking import mask_pan
from steadypos.money import format_fen
from steadypos.protocol import emv

demo_data_app = typer.Typer(help="The demo world that `host --seed-demo` loads, and card files.",
                            invoke_without_command=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


@demo_data_app.callback()
def show(ctx: typer.Context,
         as_json: bool = typer.Option(False, "--json", help="print as JSON (full test data)")
         ) -> None:
    """Print the deterministic demo data that `host --seed-demo` loads (test keys and cards)."""
    if ctx.invoked_subcommand is not None:
        return
    data = demo_data()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    show_table("demo terminals", ("tid", "mid", "mac"),
               [(t["tid"], t["mid"], t["mac"]) for t in data["terminals"]])
    show_table("demo cards (test PANs; --json for the full data, `demo-data card` for a card "
               "file)", ("pan", "kind", "status", "balance (yuan)"),
               [(mask_pan(c["pan"]), c["kind"], c["status"], format_fen(c["balance"]))
                for c in data["cards"]], right=("balance (yuan)",))


def _demo_card(pan: str) -> dict[str, Any] | None:
    """The demo card of this PAN, or of these last four digits."""
    found = [c for c in demo_data()["cards"]
             if c["pan"] == pan or (len(pan) == 4 and c["pan"].endswith(pan))]
    return found[0] if len(found) == 1 else None


def make_card(pan: str, chip: bool, expiry: str | None) -> tuple[cards.CardFile, str | None]:
    """The card file for a PAN (a demo card's data when it is one) and a note for the user."""
    demo = _demo_card(pan)
    if demo is None and len(pan) == 4:
        raise cards.CardFileError(f"no demo card ends in {pan} (give the whole test PAN)")
    pan = demo["pan"] if demo else pan
    expiry = expiry or (demo["expiry"] if demo else "3012")
    kind = cards.CardKind.CHIP if chip else cards.CardKind.MAGSTRIPE
    note = None
    if demo is None:
        note = "not a demo card: a host seeded with the demo data declines it"
    elif demo["kind"] != kind:
        note = f"the demo host knows this card as {demo['kind']}"
    if kind is cards.CardKind.CHIP:
        psn = demo.get("psn", cards.DEFAULT_PSN) if demo else cards.DEFAULT_PSN
        icc_mk = emv.icc_master_key(DEMO_ISSUER_MK, pan, psn).hex().upper()
        data: dict[str, Any] = {"kind": kind.value, "pan": pan, "expiry": expiry, "psn": psn,
                                "icc_mk": icc_mk, "atc": 1}
    else:
        same = demo is not None and demo["expiry"] == expiry
        track2 = demo["track2"] if same and demo else cards.track2_of(pan, expiry, "101")
        data = {"kind": kind.value, "pan": pan, "expiry": expiry, "track2": track2}
    return cards.parse(data), note


@demo_data_app.command("card")
def card(
    pan: str = typer.Option(..., "--pan", help="a test PAN (12-19 digits), or the last 4 digits "
                            "of a demo card"),
    out: Path = typer.Option(..., "--out", help="path of the card file to write (JSON)"),
    chip: bool = typer.Option(False, "--chip", help="a chip card (EMV, keys of the demo issuer) "
                              "instead of a magstripe"),
    expiry: str = typer.Option(None, "--expiry", help="expiry, YYMM (default: the demo card's, "
                               "else 3012)"),
) -> None:
    """Write a card file (docs/cards.md) for `terminal sale --card-file`."""
    if not out.parent.is_dir():
        raise _fail(f"{out}: folder does not exist")
    try:
        made, note = make_card(pan, chip, expiry)
        cards.write(out, made)
    except cards.CardFileError as exc:
        raise _fail(str(exc).replace("field ", "--", 1)) from None  # pan, expiry: ours
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {made.kind} card {made.masked} (expiry {made.expiry}) to {out}")
    if note:
        err.print(f"note: {note}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(demo_data_app, name="demo-data")
