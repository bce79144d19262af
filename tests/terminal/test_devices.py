"""The devices behind the engine: reader faults, a chip card that computes its own ARQC, one-time
QR codes, PIN pad cancel/timeout, printer faults after an approval, and the receipt itself.
Faults are switched on the way an operator's test bench does it: `steadypos terminal --fault`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rig import CARD, CHIP, QR, TerminalRig, card_file, episodes, receipts

from steadypos.host.demo_data import DEMO_ISSUER_MK
from steadypos.protocol import emv
from steadypos.terminal.events import events_path
from steadypos.terminal.flows import CardInput

READER_FAULTS = {"bad_read": "swipe", "lrc": "swipe", "chip_mute": "chip", "no_code": "qr"}


def _card_args(method: str, folder: Path) -> list[str]:
    if method == "swipe":
        return ["--track2", CARD["track2"], "--pin", CARD["pin"]]
    if method == "chip":
        return ["--card-file", str(card_file(folder, CHIP)), "--pin", CHIP["pin"]]
    return ["--qr", QR["code"]]


@pytest.mark.parametrize("fault", list(READER_FAULTS))
def test_reader_fault_is_not_charged(signed: TerminalRig, tmp_path: Path, fault: str) -> None:
    method = READER_FAULTS[fault]
    host = signed.host
    balances = (host.card_balance(CARD), host.card_balance(CHIP),
                host.wallet_balance(QR["wallet"]))
    mark = len(signed.proxy.seen)
    ran = signed.cli("sale", "--amount", "12.34", *_card_args(method, tmp_path),
                     bench=("--fault", f"reader={fault}"))
    assert ran.code == 1, ran.output
    assert ran.data["result"] == "failed" and "not charged" in ran.data["message"]
    cards = [e for e in signed.events() if e["type"] == "card"]
    assert cards[-1] == {**cards[-1], "method": method, "ok": False, "error": fault}
    assert signed.proxy.mtis(mark) == []
    assert (host.card_balance(CARD), host.card_balance(CHIP),
            host.wallet_balance(QR["wallet"])) == balances
    view = signed.view()
    assert (view.txns[-1]["state"], view.txns[-1]["step"]) == ("failed", "flow_aborted")
    assert view.reversals == []


def test_chip_card_arqc_is_real_and_accepted(signed: TerminalRig, tmp_path: Path) -> None:
    path = card_file(tmp_path, CHIP)
    before = signed.host.card_balance(CHIP)
    for atc, amount in ((2, 2000), (3, 1500)):
        ran = signed.cli("sale", "--amount", f"{amount / 100:.2f}", "--card-file", str(path),
                         "--pin", CHIP["pin"])
        assert ran.code == 0 and ran.data["rc"] == "00", ran.output
        req = signed.proxy.seen[-1]
        assert (req.get(22), req.get(23)) == ("051", "001")
        tags = emv.parse_icc(bytes.fromhex(req.get(55)))
        assert int.from_bytes(tags["9F36"], "big") == atc
        good, _ = emv.issuer_check(DEMO_ISSUER_MK, CHIP["pan"], CHIP["psn"], tags, amount)
        assert good  # the ARQC is the card's own, under its ICC master key
        answer = signed.proxy.answers[-1]
        assert emv.card_check_arpc(bytes.fromhex(CHIP["icc_mk"]), tags,
                                   bytes.fromhex(answer.get(55)))
        assert json.loads(path.read_text())["atc"] == atc
    assert signed.host.card_balance(CHIP) == before - 3500


def test_chip_card_with_the_wrong_key_gets_05(signed: TerminalRig, tmp_path: Path) -> None:
    forged = card_file(tmp_path, CHIP, icc_mk="11" * 16)
    before = signed.host.card_balance(CHIP)
    ran = signed.cli("sale", "--amount", "20.00", "--card-file", str(forged), "--pin",
                     CHIP["pin"])
    assert ran.code == 1 and (ran.data["result"], ran.data["rc"]) == ("declined", "05")
    assert signed.host.card_balance(CHIP) == before
    assert signed.view().reversals == []


def test_qr_code_pays_once(signed: TerminalRig) -> None:
    before = signed.host.wallet_balance(QR["wallet"])
    first = signed.cli("sale", "--amount", "8.88", "--qr", QR["code"])
    assert first.code == 0 and first.data["rc"] == "00"
    second = signed.cli("sale", "--amount", "8.88", "--qr", QR["code"])
    assert second.code == 1 and second.data["result"] == "declined"
    assert second.data["rc"] != "00"
    assert signed.host.wallet_balance(QR["wallet"]) == before - 888
    assert signed.proxy.seen[-1].get(2) == QR["code"] and signed.proxy.seen[-1].get(22) == "032"


@pytest.mark.parametrize("fault", ["cancelled", "timeout"])
def test_pin_pad_cancel_or_timeout_is_not_charged(signed: TerminalRig, fault: str) -> None:
    before = signed.host.card_balance(CARD)
    mark = len(signed.proxy.seen)
    ran = signed.sale(bench=("--fault", f"pinpad={fault}"))
    assert ran.code == 1 and ran.data["result"] == "failed", ran.output
    assert "not charged" in ran.data["message"]
    pins = [e for e in signed.events() if e["type"] == "pin"]
    assert pins[-1]["outcome"] == fault
    assert signed.proxy.mtis(mark) == []
    assert signed.host.card_balance(CARD) == before
    assert signed.view().reversals == []
    # A cancel is the operator's choice, not a flash-exit; a PIN pad timeout is one (at `pin`).
    found = episodes(signed.events())
    assert [e["screen"] for e in found] == ([] if fault == "cancelled" else ["pin"])


@pytest.mark.parametrize("fault", ["jam", "paper_out", "head_fault"])
def test_printer_fault_after_approval(signed: TerminalRig, fault: str) -> None:
    before = signed.host.card_balance(CARD)
    ran = signed.sale(bench=("--fault", f"printer={fault}"))
    assert ran.code == 0, ran.output
    assert ran.data["result"] == "approved" and ran.data["rc"] == "00"
    assert "charged" in ran.data["message"] and "reprint" in ran.data["message"]
    assert signed.host.card_balance(CARD) == before - 1234
    assert receipts(signed.journal) == {}
    txn = signed.view().txn(int(ran.data["stan"]))
    assert txn["state"] == "approved" and signed.view().reversals == []
    health = [e for e in signed.events() if e["type"] == "health"]
    assert health and health[-1]["printer"] == fault


def test_receipt(signed: TerminalRig) -> None:
    sale = signed.sale("12.34")
    assert sale.code == 0
    void = signed.cli("void", "--stan", sale.data["stan"])
    sale2 = signed.sale("20.00")
    refund = signed.cli("refund", "--stan", sale2.data["stan"], "--amount", "5.50")
    got = receipts(signed.journal)
    for ran, kind, amount in ((sale, "SALE", "12.34"), (void, "VOID", "12.34"),
                              (refund, "REFUND", "5.50")):
        text = got[f"{ran.data['batch']}-{ran.data['stan']}.txt"]
        assert f"TYPE {kind}" in text and f"AMOUNT RMB {amount}" in text
        assert f"RRN {ran.data['rrn']}" in text and f"AUTH {ran.data['auth_code']}" in text
        assert f"TRACE {ran.data['stan']}" in text and "REPRINT" not in text
        assert "CARD 622202*********" + CARD["pan"][-4:] in text
        assert CARD["pan"] not in text


def test_card_data_never_at_rest_in_clear(signed: TerminalRig, tmp_path: Path) -> None:
    """Neither PAN nor track 2 of any card used reaches the journal, its WAL, the event log,
    the receipts or the command's output."""
    outs = [signed.sale("12.34").output,
            signed.cli("sale", "--amount", "20.00", "--card-file",
                       str(card_file(tmp_path, CHIP)), "--pin", CHIP["pin"]).output,
            signed.cli("balance", "--track2", CARD["track2"], "--pin", CARD["pin"]).output,
            signed.cli("journal").output]
    signed.proxy.set("drop", "0200")
    outs.append(signed.sale("3.00").output)  # leaves a reversal record behind
    assert signed.view().reversals
    blobs = [signed.journal.read_bytes(), events_path(signed.journal).read_bytes(),
             *(t.encode() for t in receipts(signed.journal).values()), *(o.encode() for o in outs)]
    wal = signed.journal.with_name(signed.journal.name + "-wal")
    if wal.exists():
        blobs.append(wal.read_bytes())
    for card in (CARD, CHIP):
        for secret in (card["pan"], card["track2"], card["track2"].replace("D", "=")):
            assert not any(secret.encode() in b for b in blobs), secret[-4:]


def test_faults_switched_from_code(signed: TerminalRig) -> None:
    """The same switches from code, on the engine itself."""
    before = signed.host.card_balance(CARD)
    with signed.open({"reader": "bad_read"}) as t:
        out = t.sale(1234, CardInput(track2=CARD["track2"]), CARD["pin"])
    assert (out.result, out.exit_code) == ("failed", 1)
    with signed.open({"printer": "paper_out"}) as t:
        out = t.sale(1234, CardInput(track2=CARD["track2"]), CARD["pin"])
    assert (out.result, out.exit_code) == ("approved", 0) and "printer out of paper" in out.message
    assert signed.host.card_balance(CARD) == before - 1234
