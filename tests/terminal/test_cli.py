"""The CLI contract of `steadypos terminal`: every command, its --json shape, its exit statuses
(0 approved/done, 1 declined or failed, 2 usage, 3 reversal pending, 4 blocked), and input that
is refused before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rig import (
    ALLOWED_STATES,
    CARD,
    CARD2,
    CHIP,
    LOW,
    MID,
    QR,
    TERM,
    TID,
    HostRig,
    Proxy,
    TerminalRig,
    card_file,
    dump_tables,
    keystore,
    wrong_pin,
)

from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.link import Connection
from steadypos.terminal.keystore import KeyStore

FINANCIAL_KEYS = {"result", "rc", "stan", "batch", "rrn", "auth_code", "message"}
ROW_KEYS = {"stan", "batch", "kind", "amount", "state", "rc", "rrn", "auth_code"}


def _approved(ran: Any) -> dict[str, Any]:
    assert ran.code == 0, ran.output
    data = ran.data
    assert data.keys() >= FINANCIAL_KEYS
    assert data["result"] == "approved" and data["rc"] == "00"
    assert len(data["stan"]) == 6 and data["stan"].isdigit()
    assert len(data["batch"]) == 6 and data["batch"].isdigit()
    assert len(data["rrn"]) == 12 and len(data["auth_code"]) == 6
    return data


# -- init and sign-in -------------------------------------------------------------------------
def test_init(tmp_path: Path, host: HostRig, proxy: Proxy) -> None:
    t = TerminalRig(tmp_path, host, proxy)
    args = ("--host", "127.0.0.1", "--port", str(proxy.port), "--tid", TID, "--mid", MID,
            "--tmk", TERM["tmk"], "--timeout", "5")
    ran = t.cli("init", *args)
    assert ran.code == 0 and ran.data["result"] == "done"
    assert t.journal.exists() and "working" not in keystore(t.journal)
    again = t.cli("init", *args)
    assert again.code == 2 and again.data["error"] == "usage"
    assert "already exists" in again.data["message"]


@pytest.mark.parametrize("bad", [("--tmk", "00"), ("--tid", "T1"), ("--mid", "123"),
                                 ("--port", "0"), ("--timeout", "0"), ("--tpdu", "zz")])
def test_init_refuses_bad_settings(tmp_path: Path, host: HostRig, proxy: Proxy,
                                   bad: tuple[str, str]) -> None:
    t = TerminalRig(tmp_path, host, proxy)
    opts = {"--host": "127.0.0.1", "--port": str(proxy.port), "--tid": TID, "--mid": MID,
            "--tmk": TERM["tmk"], "--timeout": "5"}
    opts[bad[0]] = bad[1]
    ran = t.cli("init", *[x for kv in opts.items() for x in kv])
    assert ran.code == 2 and ran.data["error"] == "usage"
    assert not t.journal.exists()


def test_commands_need_an_initialised_terminal(term: TerminalRig) -> None:
    term.journal = term.folder / "nowhere.db"
    for args in (("sign-in",), ("journal",), ("recover",), ("sale", "--amount", "1",
                                                           "--qr", QR["code"])):
        ran = term.cli(*args)
        assert ran.code == 2 and "init" in ran.data["message"]
    assert not term.journal.exists()


def test_sign_in(term: TerminalRig) -> None:
    ran = term.cli("sign-in")
    assert ran.code == 0, ran.output
    assert ran.data["result"] == "done" and ran.data["batch"] == "000001"
    assert term.proxy.mtis() == ["0800"]
    assert "working" in keystore(term.journal)


def test_sale_signs_in_by_itself(term: TerminalRig) -> None:
    _approved(term.sale())
    assert term.proxy.mtis() == ["0800", "0200"]


# -- money ------------------------------------------------------------------------------------
def test_sale_by_swipe_chip_and_qr(signed: TerminalRig, tmp_path: Path) -> None:
    host = signed.host
    card0, chip0, wallet0 = (host.card_balance(CARD), host.card_balance(CHIP),
                             host.wallet_balance(QR["wallet"]))
    swipe = _approved(signed.sale("12.34"))
    chip = _approved(signed.cli("sale", "--amount", "20.00", "--card-file",
                                str(card_file(tmp_path, CHIP)), "--pin", CHIP["pin"]))
    qr = _approved(signed.cli("sale", "--amount", "0.99", "--qr", QR["code"]))
    assert (host.card_balance(CARD), host.card_balance(CHIP),
            host.wallet_balance(QR["wallet"])) == (card0 - 1234, chip0 - 2000, wallet0 - 99)
    stans = [int(d["stan"]) for d in (swipe, chip, qr)]
    assert stans == sorted(stans) and len(set(stans)) == 3
    sales = signed.proxy.seen[1:]
    assert [m.get(22) for m in sales] == ["021", "051", "032"]


def test_void(signed: TerminalRig) -> None:
    before = signed.host.card_balance(CARD)
    sale = _approved(signed.sale("12.34"))
    void = _approved(signed.cli("void", "--stan", sale["stan"]))
    assert signed.host.card_balance(CARD) == before
    view = signed.view()
    assert view.txn(int(sale["stan"]), "sale")["state"] == "voided"
    assert view.txn(int(void["stan"]), "void")["state"] == "approved"
    again = signed.cli("void", "--stan", sale["stan"])
    assert again.code == 1 and again.data["result"] == "declined"
    missing = signed.cli("void", "--stan", "999")
    assert missing.code == 1 and "000999" in missing.data["message"]
    assert signed.host.card_balance(CARD) == before


def test_partial_refunds(signed: TerminalRig) -> None:
    before = signed.host.card_balance(CARD)
    sale = _approved(signed.sale("20.00"))
    _approved(signed.cli("refund", "--stan", sale["stan"], "--amount", "5.00"))
    assert signed.host.card_balance(CARD) == before - 1500
    assert signed.view().txn(int(sale["stan"]), "sale")["refunded"] == 500
    too_much = signed.cli("refund", "--stan", sale["stan"], "--amount", "15.01")
    assert too_much.code == 1 and too_much.data["result"] == "declined"
    _approved(signed.cli("refund", "--stan", sale["stan"], "--amount", "15.00"))
    row = signed.view().txn(int(sale["stan"]), "sale")
    assert (row["refunded"], row["state"]) == (2000, "refunded")
    assert signed.host.card_balance(CARD) == before
    assert signed.cli("refund", "--stan", sale["stan"], "--amount", "0.01").code == 1
    assert signed.host.card_balance(CARD) == before


def test_balance(signed: TerminalRig) -> None:
    ran = signed.cli("balance", "--track2", CARD["track2"], "--pin", CARD["pin"])
    data = _approved_no_receipt(ran)
    assert data["balance"] == signed.host.card_balance(CARD)
    bad = signed.cli("balance", "--track2", CARD["track2"], "--pin", wrong_pin(CARD))
    assert bad.code == 1 and bad.data["rc"] == "55"


def _approved_no_receipt(ran: Any) -> dict[str, Any]:
    assert ran.code == 0, ran.output
    assert ran.data.keys() >= FINANCIAL_KEYS and ran.data["result"] == "approved"
    return ran.data


def test_settle_balanced_opens_the_next_batch(signed: TerminalRig) -> None:
    sale = _approved(signed.sale("12.34"))
    _approved(signed.sale("3.00", card=CARD2))
    _approved(signed.cli("refund", "--stan", sale["stan"], "--amount", "2.00"))
    ran = signed.cli("settle")
    assert ran.code == 0, ran.output
    assert ran.data["result"] == "done" and ran.data["balanced"] is True
    assert ran.data["uploaded"] == 0 and ran.data["batch"] == "000001"
    assert "2 sales ¥15.34, 1 refunds ¥2.00" in ran.data["message"]
    assert signed.proxy.mtis()[-1] == "0500"
    nxt = _approved(signed.sale("1.00"))
    assert nxt["batch"] == "000002"
    assert signed.view().txn(int(nxt["stan"]))["batch"] == 2
    assert signed.host.txns(int(nxt["stan"]))[0]["batch"] == 2


def _sale_behind_the_terminals_back(t: TerminalRig, stan: int, amount: int) -> None:
    """A sale the host approved for this TID that the terminal's journal never got (made with
    the terminal's own working keys, straight to the host)."""
    working = KeyStore.load(t.journal.with_name(t.journal.name + ".keys")).working
    assert working is not None
    mak = working.mak
    req = builders.sale(Station(TID, MID), stan, 1, amount, Card.from_track2(CARD2["track2"]))
    with Connection("127.0.0.1", t.host.port, read_timeout=10) as conn:
        assert conn.exchange(mac.sign(req, mak)).get(39) == "00"


def test_settle_unbalanced_uploads_the_batch(signed: TerminalRig) -> None:
    _approved(signed.sale("12.34"))
    _approved(signed.sale("3.00", card=CARD2))
    _sale_behind_the_terminals_back(signed, 900_001, 700)
    mark = len(signed.proxy.seen)
    ran = signed.cli("settle")
    assert ran.code == 0, ran.output
    assert ran.data["balanced"] is False and ran.data["uploaded"] == 2
    assert "not balanced, 2 records uploaded" in ran.data["message"]
    assert signed.proxy.mtis(mark) == ["0500", "0320", "0320"]
    assert signed.proxy.seen[-1].get(48) == "0002"
    assert signed.host.upload_diffs() == [(1, 0, "count: terminal 2, host 3")]
    assert _approved(signed.sale("1.00"))["batch"] == "000002"


def test_recover_with_nothing_pending(signed: TerminalRig) -> None:
    ran = signed.cli("recover")
    assert ran.code == 0 and ran.data["result"] == "done"
    assert ran.data["message"] == "nothing pending" and ran.recovered == []
    assert signed.proxy.mtis() == ["0800"]


def test_journal_json(signed: TerminalRig) -> None:
    sale = _approved(signed.sale("12.34"))
    _approved(signed.cli("void", "--stan", sale["stan"]))
    signed.sale("1.00", pin=wrong_pin(CARD))
    signed.sale("20.00", card=LOW)
    signed.cli("balance", "--track2", CARD["track2"], "--pin", CARD["pin"])
    signed.proxy.down()
    signed.sale("1.00")
    ran = signed.cli("journal")
    assert ran.code == 0 and list(ran.data) == ["transactions"]
    rows = ran.data["transactions"]
    assert [(r["kind"], r["state"]) for r in rows] == [
        ("sale", "voided"), ("void", "approved"), ("sale", "declined"), ("sale", "declined"),
        ("balance", "approved"), ("sale", "failed")]
    for r in rows:
        assert r.keys() >= ROW_KEYS
        assert r["state"] in ALLOWED_STATES
        assert isinstance(r["amount"], int)
        assert len(r["stan"]) == 6 and len(r["batch"]) == 6
    assert rows[0]["amount"] == 1234 and rows[0]["rrn"] == sale["rrn"]
    assert rows[0]["auth_code"] == sale["auth_code"] and rows[2]["rc"] == "55"
    assert rows[3]["rc"] == "51"
    assert all(CARD["pan"] not in str(r) for r in rows)


# -- exit statuses, from the real command ----------------------------------------------------
def test_exit_statuses(signed: TerminalRig) -> None:
    """0 approved, 1 declined, 2 usage, 3 failed with a reversal pending, 4 blocked: as the
    `steadypos` process itself exits."""
    track = ("--track2", CARD["track2"])
    assert signed.spawn("sale", "--amount", "1.00", *track, "--pin", CARD["pin"]).code == 0
    assert signed.spawn("sale", "--amount", "1.00", *track, "--pin", wrong_pin(CARD)).code == 1
    assert signed.spawn("sale", "--amount", "1.234", *track).code == 2
    signed.proxy.set("drop", "0200")
    pending = signed.spawn("sale", "--amount", "1.00", *track, "--pin", CARD["pin"])
    assert pending.code == 3 and pending.data["reversal_pending"] is True
    signed.proxy.down()
    blocked = signed.spawn("sale", "--amount", "1.00", *track, "--pin", CARD["pin"])
    assert blocked.code == 4 and blocked.data["result"] == "blocked"
    for ran in (pending, blocked):
        assert ran.data.keys() >= FINANCIAL_KEYS


def test_failed_with_nothing_pending_is_1(signed: TerminalRig) -> None:
    signed.proxy.down()
    ran = signed.sale()
    assert ran.code == 1 and ran.data["result"] == "failed"


def test_text_output(signed: TerminalRig) -> None:
    ran = signed.cli("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                     CARD["pin"], as_json=False)
    assert ran.code == 0 and "APPROVED" in ran.output and "RRN" in ran.output
    bad = signed.cli("sale", "--amount", "abc", "--track2", CARD["track2"], as_json=False)
    assert bad.code == 2


# -- refused input ------------------------------------------------------------------------------
BAD_SALES = {
    "amount 1.234": ["--amount", "1.234", "--track2", CARD["track2"]],
    "amount -1": ["--amount", "-1", "--track2", CARD["track2"]],
    "amount abc": ["--amount", "abc", "--track2", CARD["track2"]],
    "amount 0": ["--amount", "0", "--track2", CARD["track2"]],
    "amount 0.00": ["--amount", "0.00", "--track2", CARD["track2"]],
    "amount 1e3": ["--amount", "1e3", "--track2", CARD["track2"]],
    "track2 short": ["--amount", "1.00", "--track2", "12345=3012"],
    "track2 letters": ["--amount", "1.00", "--track2", CARD["track2"][:-3] + "XYZ"],
    "track2 no separator": ["--amount", "1.00", "--track2", CARD["pan"]],
    "pin 12a": ["--amount", "1.00", "--track2", CARD["track2"], "--pin", "12a"],
    "pin too short": ["--amount", "1.00", "--track2", CARD["track2"], "--pin", "123"],
    "two cards": ["--amount", "1.00", "--track2", CARD["track2"], "--qr", QR["code"]],
    "no card": ["--amount", "1.00"],
    "qr with pin": ["--amount", "1.00", "--qr", QR["code"], "--pin", "123456"],
    "qr short": ["--amount", "1.00", "--qr", "28123"],
    "card file missing": ["--amount", "1.00", "--card-file", "/nonexistent/card.json"],
}


@pytest.mark.parametrize("case", list(BAD_SALES))
def test_bad_sale_input_is_usage_and_writes_nothing(signed: TerminalRig, case: str) -> None:
    _approved(signed.sale("1.00"))
    before, seen = dump_tables(signed.journal), len(signed.proxy.seen)
    ran = signed.cli("sale", *BAD_SALES[case])
    assert ran.code == 2, ran.output
    assert ran.data["result"] == "failed" and ran.data["error"] == "usage"
    assert dump_tables(signed.journal) == before
    assert len(signed.proxy.seen) == seen


BAD_OTHERS = {
    "refund amount": ["refund", "--stan", "2", "--amount", "1.234"],
    "refund amount 0": ["refund", "--stan", "2", "--amount", "0"],
    "balance pin": ["balance", "--track2", CARD["track2"], "--pin", "12a"],
    "balance track2": ["balance", "--track2", "1234", "--pin", "123456"],
}


@pytest.mark.parametrize("case", list(BAD_OTHERS))
def test_bad_input_of_other_commands(signed: TerminalRig, case: str) -> None:
    _approved(signed.sale("1.00"))
    before, seen = dump_tables(signed.journal), len(signed.proxy.seen)
    ran = signed.cli(*BAD_OTHERS[case])
    assert ran.code == 2, ran.output
    assert dump_tables(signed.journal) == before
    assert len(signed.proxy.seen) == seen


def test_bad_chip_card_file(signed: TerminalRig, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"pan": "6222020000000005", "expiry": "3012"}')
    before = dump_tables(signed.journal)
    ran = signed.cli("sale", "--amount", "1.00", "--card-file", str(bad))
    assert ran.code == 2 and dump_tables(signed.journal) == before

