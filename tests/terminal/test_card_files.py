"""Sales from card files (docs/cards.md) that `demo-data card` writes; a bad card file is one line
naming its field, exit 2, nothing journaled or sent."""

from __future__ import annotations

import json
from pathlib import Path

from rig import CARD, CHIP, TerminalRig, dump_tables
from typer.testing import CliRunner

from steadypos.cli import app


def _card_file(tmp_path: Path, pan: str, *flags: str) -> Path:
    out = tmp_path / f"card-{pan[-4:]}.json"
    ran = CliRunner().invoke(app, ["demo-data", "card", "--pan", pan, *flags, "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    return out


def test_magstripe_and_chip_files_pay_once_each(signed: TerminalRig, tmp_path: Path) -> None:
    host = signed.host
    swipe0, chip0 = host.card_balance(CARD), host.card_balance(CHIP)
    mag = signed.cli("sale", "--amount", "12.34", "--card-file",
                     str(_card_file(tmp_path, CARD["pan"])), "--pin", CARD["pin"])
    chip_file = _card_file(tmp_path, CHIP["pan"], "--chip")
    chip = signed.cli("sale", "--amount", "20.00", "--card-file", str(chip_file),
                      "--pin", CHIP["pin"])
    assert (mag.code, mag.data["rc"], chip.code, chip.data["rc"]) == (0, "00", 0, "00")
    assert (host.card_balance(CARD), host.card_balance(CHIP)) == (swipe0 - 1234, chip0 - 2000)
    assert [m.get(22) for m in signed.proxy.seen[-2:]] == ["021", "051"]
    assert json.loads(chip_file.read_text())["atc"] == 2  # the chip's counter moved on


def test_a_bad_card_file_is_one_line_naming_the_field(signed: TerminalRig,
                                                      tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    data = json.loads(_card_file(tmp_path, CHIP["pan"], "--chip").read_text())
    data["icc_mk"] = data["icc_mk"][:30]
    bad.write_text(json.dumps(data))
    before, seen = dump_tables(signed.journal), len(signed.proxy.seen)
    ran = CliRunner().invoke(app, ["terminal", "sale", "--journal", str(signed.journal),
                                   "--amount", "1.00", "--card-file", str(bad)])
    assert ran.exit_code == 2
    assert ran.output == f"error: card file {bad}: field icc_mk must be 32 hex digits\n"
    assert dump_tables(signed.journal) == before and len(signed.proxy.seen) == seen
