"""Operator queries (`steadypos host terminals|txn|batch|card unlock|audit`): the host's own
records, money in fen / yuan, cards masked, bad input one line and exit 2, unlocks audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostkit import DEMO, Host, TestTerminal, low_card, rich_card, swipe
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.host import ops
from steadypos.masking import mask_pan
from steadypos.protocol.fields import Totals

runner = CliRunner()
CARD = rich_card()
SECRETS = [c["pan"] for c in DEMO["cards"]] + [c["track2"] for c in DEMO["cards"]] + \
    [t["tmk"] for t in DEMO["terminals"]]


def host_cli(db: Path, *args: str) -> Any:
    ran = runner.invoke(app, ["host", *args, "--db", str(db)])
    for secret in SECRETS:
        assert secret not in ran.output
    return ran


def _day(host: Host, term: TestTerminal) -> dict[str, Any]:
    """Sale 12.34 (refunded 2.00), sale 5.00 reversed, a decline; what the test needs of it."""
    sale = term.sale(1234, swipe(CARD), CARD["pin"])
    assert sale[1].get(39) == "00"
    assert term.refund(200, swipe(CARD), sale)[1].get(39) == "00"
    undone = term.sale(500, swipe(CARD), CARD["pin"])
    assert term.reverse(undone[0])[1].get(39) == "00"
    assert term.sale(100_000, swipe(low_card()), low_card()["pin"])[1].get(39) == "51"
    return {"sale": sale, "undone": undone}


def test_terminals_show_registry_and_last_request(host: Host, term: TestTerminal) -> None:
    before = datetime.now(UTC).isoformat()
    term.sale(1234, swipe(CARD), CARD["pin"])
    views = {v.tid: v for v in ops.terminals(host.store)}
    assert set(views) == {t["tid"] for t in DEMO["terminals"]}
    one, legacy = views["T0000001"], views["T0000004"]
    assert (one.mid, one.mac, one.signed_in, one.open_batch) == (term.mid, "x919", True, 1)
    assert one.last_request is not None and one.last_request >= before[:19]
    assert (legacy.mac, legacy.signed_in, legacy.last_request) == ("pos_ecb", False, None)
    ran = host_cli(host.db, "terminals", "--json")
    assert ran.exit_code == 0
    data = {t["tid"]: t for t in json.loads(ran.output)["terminals"]}
    assert data["T0000001"]["signed_in"] is True and data["T0000004"]["mac"] == "pos_ecb"


def test_txn_by_stan_rrn_and_date(host: Host, term: TestTerminal) -> None:
    got = _day(host, term)
    stan = int(got["sale"][0].get(11))
    by_stan = ops.find_txns(host.store, "T0000001", stan=stan)
    assert [(v.kind, v.amount, v.rc, v.state, v.refunded) for v in by_stan] == \
        [("sale", 1234, "00", "approved", 200)]
    assert by_stan[0].payer == mask_pan(CARD["pan"])
    rrn = got["sale"][1].get(37)
    assert [v.stan for v in ops.find_txns(host.store, "T0000001", rrn=rrn)] == [stan]
    undone = ops.find_txns(host.store, "T0000001", stan=int(got["undone"][0].get(11)))
    assert [(v.mti, v.state, v.reversal) for v in undone] == \
        [("0200", "reversed", "reversed"), ("0400", "approved", "reversal 00")]
    today = datetime.now(UTC).date().isoformat()
    assert len(ops.find_txns(host.store, "T0000001", day=today)) == 5
    assert ops.find_txns(host.store, "T0000001", day="2001-01-01") == []
    newest = ops.find_txns(host.store, "T0000001", last=2)
    assert [(v.mti, v.kind) for v in newest] == [("0400", "reversal"), ("0200", "sale")]
    assert newest[1].rc == "51"
    ran = host_cli(host.db, "txn", "--tid", "T0000001", "--stan", str(stan))
    assert ran.exit_code == 0
    row = next(line for line in ran.output.splitlines() if f"{stan:06d}" in line)
    assert "12.34" in row and "2.00" in row and mask_pan(CARD["pan"]) in row


def test_batch_totals_open_then_settled(host: Host, term: TestTerminal) -> None:
    _day(host, term)
    view = ops.batch(host.store, "T0000001")
    assert (view.batch, view.state, view.sales, view.sales_amount, view.refunds,
            view.refunds_amount, view.net, view.reversed, view.declined) == \
        (1, ops.BatchState.OPEN, 1, 1234, 1, 200, 1034, 1, 1)
    assert term.settle(Totals(1234, 1, 200, 1))[1].get(39) == "00"
    settled = ops.batch(host.store, "T0000001", 1)
    assert (settled.state, settled.settlement, settled.net) == (ops.BatchState.SETTLED,
                                                                "balanced", 1034)
    ran = host_cli(host.db, "batch", "--tid", "T0000001", "--batch", "1", "--json")
    assert ran.exit_code == 0
    data = json.loads(ran.output)
    assert (data["state"], data["sales_amount"], data["net"]) == ("settled", 1234, 1034)
    assert ops.batch(host.store, "T0000001").state is ops.BatchState.OPEN  # batch 2


def _lock(term: TestTerminal, card: dict[str, Any]) -> None:
    codes = [term.sale(100, swipe(card), "000000")[1].get(39) for _ in range(3)]
    assert codes == ["55", "55", "75"]
    assert term.sale(100, swipe(card), card["pin"])[1].get(39) == "75"


def test_card_unlock_is_audited_and_the_card_pays_again(host: Host, term: TestTerminal) -> None:
    _lock(term, CARD)
    ran = host_cli(host.db, "card", "unlock", "--pan-last4", CARD["pan"][-4:], "--tid",
                   "T0000001", "--reason", f"ticket 7 {CARD['pan']}", "--operator", "li.na")
    assert ran.exit_code == 0, ran.output
    assert host.card_row(CARD).status == "active" and host.card_row(CARD).pin_tries == 0
    assert term.sale(100, swipe(CARD), CARD["pin"])[1].get(39) == "00"
    [entry] = host.store.audit_entries()
    assert entry[1:4] == ("li.na", "card unlock", mask_pan(CARD["pan"]))
    assert "locked -> active" in entry[4] and CARD["pan"] not in entry[4]
    audit = json.loads(host_cli(host.db, "audit", "--json").output)["audit"]
    assert [a["subject"] for a in audit] == [mask_pan(CARD["pan"])]


BAD = {
    "tid": (["txn", "--tid", "T1"], "--tid must be 8 letters or digits"),
    "unknown tid": (["txn", "--tid", "T9999999"], "no terminal T9999999"),
    "two filters": (["txn", "--tid", "T0000001", "--stan", "1", "--rrn", "000000000001"],
                    "give one of --stan, --rrn, --date"),
    "stan": (["txn", "--tid", "T0000001", "--stan", "0"], "--stan must be 1 to 999999"),
    "rrn": (["txn", "--tid", "T0000001", "--rrn", "12"], "--rrn must be 12"),
    "last": (["txn", "--tid", "T0000001", "--last", "0"], "--last must be 1 or more"),
    "date": (["txn", "--tid", "T0000001", "--date", "02/12/2026"], "--date must be YYYY-MM-DD"),
    "batch": (["batch", "--tid", "T0000001", "--batch", "9"], "batch 000009 is not open yet"),
    "last4": (["card", "unlock", "--pan-last4", "12a4", "--tid", "T0000001", "--reason", "x"],
              "--pan-last4 must be 4 digits"),
    "not used there": (["card", "unlock", "--pan-last4", "0000", "--tid", "T0000001",
                        "--reason", "x"], "no card ending in 0000 made a request at T0000001"),
    "not locked": (["card", "unlock", "--pan-last4", CARD["pan"][-4:], "--tid", "T0000001",
                    "--reason", "x"], "is not locked"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_exit_2(host: Host, term: TestTerminal, case: str) -> None:
    term.sale(100, swipe(CARD), CARD["pin"])
    args, message = BAD[case]
    ran = host_cli(host.db, *args)
    assert ran.exit_code == 2
    assert ran.output.count("\n") == 1 and message in ran.output
    assert host.store.audit_entries() == []


def test_no_database(tmp_path: Path) -> None:
    ran = host_cli(tmp_path / "none.db", "terminals")
    assert (ran.exit_code, ran.output) == (2, f"error: no host database at {tmp_path}/none.db\n")
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("args", [("terminals",), ("txn", "--tid", "T0000001", "--stan", "1"),
                                  ("batch", "--tid", "T0000001", "--batch", "1"), ("audit",)])
def test_a_damaged_database_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    db = tmp_path / "host.db"
    db.write_bytes(b"not a database at all" * 200)
    ran = host_cli(db, *args)
    assert ran.exception is None or isinstance(ran.exception, SystemExit), ran.exception
    assert ran.exit_code == 2, ran.output
    assert ran.output.count("\n") == 1 and "Traceback" not in ran.output
    assert "is not a host database SQLite can read" in ran.output and "backup" in ran.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["host.db"]  # nothing new left


def test_ledger_check_names_accounts(host: Host, term: TestTerminal) -> None:
    term.sale(1234, swipe(CARD), CARD["pin"])
    # The TMS keeps merchants' names when it shares the host's database.
    host.store.ddl("CREATE TABLE tms_merchants (mid TEXT PRIMARY KEY, legal_name TEXT)")
    host.store.ddl(f"INSERT INTO tms_merchants VALUES ('{term.mid}', 'Tea House')")
    ran = runner.invoke(app, ["ledger", "check", "--db", str(host.db), "--json"])
    assert ran.exit_code == 0, ran.output
    data = json.loads(ran.output)
    names = {b["account"]: (b["name"], b["balance"]) for b in data["balances"]}
    card_account = host.card_account(CARD)
    assert names[card_account] == (f"card {mask_pan(CARD['pan'])}",
                                   CARD["balance"] - 1234)
    assert names[f"merchant:{term.mid}"] == (f"merchant {term.mid} Tea House", 1234)
    assert names["wallet:W001"][0] == "wallet W001"
    assert names["issuer:funding"][0] == "issuer funding"
    table = runner.invoke(app, ["ledger", "check", "--db", str(host.db)]).output
    row = next(line for line in table.splitlines()
               if line.startswith(f"card {mask_pan(CARD['pan'])}"))
    assert card_account in row and "ledger balanced" in table


def test_options_before_the_command_are_one_line(host: Host) -> None:
    ran = runner.invoke(app, ["host", "--db", str(host.db), "terminals"])
    assert (ran.exit_code, ran.output) == (
        2, "error: the options go after the command: steadypos host terminals --db ...\n")
