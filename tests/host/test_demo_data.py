"""`steadypos demo-data --json`: the exact shape and contents outside tools rely on (point 4)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from steadypos.cards import check_digit
from steadypos.cli import app

TOP_KEYS = {"terminals", "cards", "qr_codes"}
# 1.1: each terminal names its MAC algorithm.
TERMINAL_KEYS = {"tid", "mid", "tmk", "mac"}
CARD_KEYS = {"pan", "pin", "expiry", "track2", "balance", "kind", "status"}
# A chip card also carries what a simulated chip needs to compute its ARQC.
CHIP_EXTRA_KEYS = {"psn", "icc_mk"}
QR_KEYS = {"code", "wallet", "balance"}


def _run() -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["demo-data", "--json"])
    assert result.exit_code == 0, result.output
    return result.stdout, json.loads(result.stdout)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return _run()[1]


def test_deterministic() -> None:
    first, second = _run()[0], _run()[0]
    assert first == second


def test_top_level_shape(data: dict[str, Any]) -> None:
    assert set(data) == TOP_KEYS
    assert all(isinstance(data[k], list) for k in TOP_KEYS)


def test_terminals(data: dict[str, Any]) -> None:
    terminals = data["terminals"]
    assert len(terminals) >= 3
    for t in terminals:
        assert set(t) == TERMINAL_KEYS
        assert re.fullmatch(r"[0-9A-F]{32}", t["tmk"], re.IGNORECASE), t["tmk"]
        assert len(t["tid"]) == 8 and len(t["mid"]) == 15
        assert t["mac"] in ("x919", "pos_ecb")
    assert len({t["tid"] for t in terminals}) == len(terminals)
    # x919 is the default; at least one legacy terminal shows what pos_ecb still allows.
    assert [t["tid"] for t in terminals if t["mac"] == "pos_ecb"] == ["T0000004"]
    assert terminals[0]["mac"] == terminals[1]["mac"] == terminals[2]["mac"] == "x919"
    assert len({t["tmk"] for t in terminals}) == len(terminals)
    assert len({t["mid"] for t in terminals}) == 2


def test_every_card_well_formed(data: dict[str, Any]) -> None:
    for c in data["cards"]:
        extra = CHIP_EXTRA_KEYS if c["kind"] == "chip" else set()
        assert set(c) == CARD_KEYS | extra, c["pan"][-4:]
        assert c["kind"] in ("magstripe", "chip")
        assert c["status"] in ("active", "blocked", "expired")
        assert type(c["balance"]) is int and c["balance"] >= 0
        assert re.fullmatch(r"\d{13,19}", c["pan"]) and check_digit(c["pan"][:-1]) == c["pan"][-1]
        assert re.fullmatch(r"\d{4,12}", c["pin"])
        assert re.fullmatch(r"\d{4}", c["expiry"])
        # Track 2 as the reader gives it: PAN, separator, expiry, service code...
        assert re.fullmatch(rf"{c['pan']}[D=]{c['expiry']}\d*", c["track2"]), c["track2"]
    assert len({c["pan"] for c in data["cards"]}) == len(data["cards"])


def _cards(data: dict[str, Any], kind: str, status: str) -> list[dict[str, Any]]:
    return [c for c in data["cards"] if c["kind"] == kind and c["status"] == status]


def test_card_mix(data: dict[str, Any]) -> None:
    active = _cards(data, "magstripe", "active")
    rich = [c for c in active if c["balance"] >= 100_000]
    assert len(rich) >= 6
    assert [c for c in active if c["balance"] < 1000], "one active card under 10 yuan"
    expired = _cards(data, "magstripe", "expired")
    blocked = _cards(data, "magstripe", "blocked")
    assert len(expired) >= 1 and len(blocked) >= 1
    assert all(c["pin"] for c in expired + blocked)
    assert all(c["expiry"] < "2501" for c in expired), "an expired card's date is in the past"
    chips = [c for c in data["cards"] if c["kind"] == "chip"]
    assert len(chips) >= 2
    assert all(re.fullmatch(r"[0-9A-F]{32}", c["icc_mk"]) for c in chips)


def test_qr_codes(data: dict[str, Any]) -> None:
    codes = data["qr_codes"]
    assert len(codes) >= 5
    for q in codes:
        assert set(q) == QR_KEYS
        assert re.fullmatch(r"\d{16,19}", q["code"]), q["code"]
        assert type(q["balance"]) is int and q["balance"] > 0
    assert len({q["code"] for q in codes}) == len(codes)
    # Every code of one wallet reports the same wallet balance.
    by_wallet: dict[str, set[int]] = {}
    for q in codes:
        by_wallet.setdefault(q["wallet"], set()).add(q["balance"])
    assert all(len(b) == 1 for b in by_wallet.values())


def test_the_host_is_seeded_with_exactly_this(data: dict[str, Any], host: Any) -> None:
    """What --json prints is what the host holds: every card's balance, every wallet's."""
    for c in data["cards"]:
        assert host.card_balance(c) == c["balance"]
    for q in data["qr_codes"]:
        assert host.wallet_balance(q["wallet"]) == q["balance"]
    for t in data["terminals"]:
        row = host.store.terminal(t["tid"])
        assert row is not None and row.mid == t["mid"]
        assert host.secrets.unseal(row.tmk).hex().upper() == t["tmk"].upper()
