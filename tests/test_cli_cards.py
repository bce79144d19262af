"""Card files (docs/cards.md): `demo-data card` writes valid ones, a bad one names its field and
nothing in any message quotes a PAN, track or key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from steadypos import cards
from steadypos.cli import app
from steadypos.host.demo_data import demo_data

runner = CliRunner()
DEMO = demo_data()["cards"]
SWIPE = next(c for c in DEMO if c["kind"] == "magstripe")
CHIP = next(c for c in DEMO if c["kind"] == "chip")
MAG_FILE = {"kind": "magstripe", "pan": SWIPE["pan"], "expiry": SWIPE["expiry"],
            "track2": SWIPE["track2"]}
CHIP_FILE = {"kind": "chip", "pan": CHIP["pan"], "expiry": CHIP["expiry"], "psn": "01",
             "icc_mk": CHIP["icc_mk"], "atc": 1}


def test_demo_data_card_writes_the_demo_cards(tmp_path: Path) -> None:
    for card, extra, expected in ((SWIPE, [], MAG_FILE), (CHIP, ["--chip"], CHIP_FILE)):
        out = tmp_path / f"{card['pan'][-4:]}.json"
        ran = runner.invoke(app, ["demo-data", "card", "--pan", card["pan"][-4:], *extra,
                                  "--out", str(out)])
        assert ran.exit_code == 0, ran.output
        assert json.loads(out.read_text()) == expected
        assert out.stat().st_mode & 0o777 == 0o600
        assert card["pan"] not in ran.output and card["pan"][-4:] in ran.output
        assert cards.load(out) == cards.parse(expected)


@pytest.mark.parametrize("pan", ["4111111111111111", "5500005555555559", "378282246310005",
                                 "6011111111111117", "79927398713"])
def test_check_digit_completes_published_luhn_numbers(pan: str) -> None:
    # Published test PANs (and the Luhn article's 79927398713): an oracle outside the code.
    assert cards.check_digit(pan[:-1]) == pan[-1]


def test_a_pan_of_no_demo_card_gives_a_valid_file_and_a_note(tmp_path: Path) -> None:
    pan = "622202999999999" + cards.check_digit("622202999999999")
    out = tmp_path / "c.json"
    ran = runner.invoke(app, ["demo-data", "card", "--pan", pan, "--chip", "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    assert "note: not a demo card" in ran.output and pan not in ran.output
    card = cards.load(out)
    assert (card.kind, card.pan, card.expiry, card.atc) == (cards.CardKind.CHIP, pan, "3012", 1)


@pytest.mark.parametrize(("args", "message"), [
    (["--pan", "1234"], "no demo card ends in 1234"),
    (["--pan", SWIPE["pan"][:-1] + "0"], "--pan fails the Luhn check"),
    (["--pan", "12345678"], "--pan must be 12 to 19 digits"),
    (["--pan", SWIPE["pan"], "--expiry", "3013"], "--expiry must be YYMM"),
])
def test_demo_data_card_refuses_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    ran = runner.invoke(app, ["demo-data", "card", *args, "--out", str(tmp_path / "c.json")])
    assert ran.exit_code == 2
    assert ran.output.count("\n") == 1 and message in ran.output
    assert not (tmp_path / "c.json").exists()


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {**base, **changes}
    return {k: v for k, v in data.items() if v is not None}


BAD = {
    "not an object": ([MAG_FILE], "one JSON object"),
    "no kind": (_with(MAG_FILE, kind=None), "field kind is missing"),
    "kind tape": (_with(MAG_FILE, kind="tape"), "field kind must be magstripe or chip"),
    "no pan": (_with(MAG_FILE, pan=None), "field pan is missing"),
    "pan number": (_with(MAG_FILE, pan=6222020000000001008), "field pan must be a string"),
    "pan luhn": (_with(CHIP_FILE, pan=CHIP["pan"][:-1] + "0"), "field pan fails the Luhn"),
    "expiry month": (_with(MAG_FILE, expiry="3000"), "field expiry must be YYMM"),
    "no track2": (_with(MAG_FILE, track2=None), "field track2 is missing"),
    "track2 letters": (_with(MAG_FILE, track2=SWIPE["track2"][:-2] + "XY"), "field track2 must"),
    "track2 other card": (_with(MAG_FILE, track2=CHIP["track2"]), "field track2 does not carry"),
    "no icc_mk": (_with(CHIP_FILE, icc_mk=None), "field icc_mk is missing"),
    "icc_mk short": (_with(CHIP_FILE, icc_mk="00" * 8), "field icc_mk must be 32 hex digits"),
    "psn": (_with(CHIP_FILE, psn="1"), "field psn must be 2 digits"),
    "atc": (_with(CHIP_FILE, atc="2"), "field atc must be a whole number"),
    "typo": (_with(CHIP_FILE, icc_key=CHIP["icc_mk"]), "field icc_key is not part of a chip"),
    "pin": (_with(MAG_FILE, pin="123456"), "field pin is not part of a magstripe card (a card "
                                           "holds no PIN"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_card_file_names_its_field_and_quotes_no_card_data(tmp_path: Path,
                                                                  case: str) -> None:
    data, message = BAD[case]
    path = tmp_path / "card.json"
    path.write_text(json.dumps(data))
    with pytest.raises(cards.CardFileError) as caught:
        cards.load(path)
    text = str(caught.value)
    assert text.startswith(f"card file {path}: ") and message in text
    for secret in (SWIPE["pan"], CHIP["pan"], SWIPE["track2"], CHIP["icc_mk"], "123456"):
        assert secret not in text


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text('{"kind": "chip", ')
    with pytest.raises(cards.CardFileError, match=r"not JSON \(line 1, column"):
        cards.load(path)
    with pytest.raises(cards.CardFileError, match="cannot read it"):
        cards.load(tmp_path / "none.json")


def test_a_chip_file_without_kind_is_still_a_chip_card(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_with(CHIP_FILE, kind=None, atc=None, psn=None)))
    card = cards.load(path)
    assert (card.kind, card.psn, card.atc, card.icc_mk) == (cards.CardKind.CHIP, "01", 1,
                                                            CHIP["icc_mk"])
