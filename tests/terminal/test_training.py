"""Training mode: a terminal in training sends header terminal state 1, works on its training copy
of the journal, and the host runs it in the sandbox: no card balance, ledger, PIN try, QR code,
settlement or open batch moves, and the host's rows are marked training."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

from rig import CARD, CARD2, QR, TerminalRig, dump_tables, receipts, wrong_pin

from steadypos.host.sqlite_store import read_only
from steadypos.protocol.frame import TERMINAL_STATE_TRAINING
from steadypos.terminal.counter import training
from steadypos.terminal.flows import CardInput

MONEY_TABLES = ("accounts", "postings", "posting_lines", "settlements", "qr_codes", "cards",
                "upload_diffs")


def money_at_the_host(db: Path) -> dict[str, Any]:
    with closing(read_only(db)) as conn:
        out: dict[str, Any] = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                               for t in MONEY_TABLES}
        out["batch"] = conn.execute("SELECT tid, batch FROM terminals ORDER BY tid").fetchall()
        out["live_txns"] = conn.execute("SELECT * FROM txns WHERE kind NOT LIKE 'training:%' "
                                        "ORDER BY id").fetchall()
    return out


def test_training_moves_no_money_and_is_marked_at_the_host(signed: TerminalRig) -> None:
    live = signed.sale("10.00")  # a real sale before: it must stay as it is
    host_before = money_at_the_host(signed.host.db)
    journal_before = dump_tables(signed.journal)
    since = len(signed.proxy.seen)
    term = training.open_terminal(signed.journal)
    try:
        sale = term.sale(1234, CardInput(track2=CARD["track2"]), CARD["pin"])
        other = term.sale(2000, CardInput(track2=CARD2["track2"]), CARD2["pin"])
        void = term.void(other.stan or 0)
        refund = term.refund(sale.stan or 0, 500)
        wrong = term.sale(100, CardInput(track2=CARD2["track2"]), wrong_pin(CARD2))
        qr = term.sale(300, CardInput(qr=QR["code"]))
        settled = term.settle()
        journal = term.journal.path
    finally:
        term.close()
    assert [o.result for o in (sale, other, void, refund, qr)] == ["approved"] * 5
    assert wrong.rc == "55" and settled.result == "done", settled.message
    assert "balanced" in settled.message and "not balanced" not in settled.message
    assert money_at_the_host(signed.host.db) == host_before  # nothing moved, nothing closed
    assert dump_tables(signed.journal) == journal_before  # the live journal was not written
    sent = signed.proxy.seen[since:]
    assert len(sent) >= 7 and all(m.header.state == TERMINAL_STATE_TRAINING for m in sent)
    marked = signed.host.txns()
    kinds = {(t["mti"], t["kind"]) for t in marked if t["kind"].startswith("training:")}
    assert {("T0200", "training:sale"), ("T0220", "training:refund"),
            ("T0500", "training:settle")} <= kinds
    assert receipts(signed.journal).keys() == {
        f"{live.data['batch']}-{live.data['stan']}.txt"}  # training slips only in the copy
    slips = receipts(journal)
    assert len(slips) == 5  # two sales, the void, the refund, the QR sale (not the decline)
    for slip in slips.values():  # each printed slip says it is no payment, at top and bottom
        lines = slip.splitlines()
        assert lines[1] == lines[-1] == "*** 练习 — 非真实交易 TRAINING — NOT A PAYMENT ***"
    assert "TRAINING" not in receipts(signed.journal)[
        f"{live.data['batch']}-{live.data['stan']}.txt"]
    # and the live terminal goes on as before: its next sale and settlement are real
    after = signed.sale("1.00")
    assert after.code == 0 and signed.host.card_balance(CARD) == \
        host_balance(host_before, signed, CARD) - 100
    assert live.code == 0


def host_balance(snapshot: dict[str, Any], rig: TerminalRig, card: dict[str, Any]) -> int:
    account = rig.host.account_of(card)
    return next(int(b) for a, _, b in snapshot["accounts"] if a == account)


def test_the_cli_commands_take_training_too(signed: TerminalRig) -> None:
    before = money_at_the_host(signed.host.db)
    sale = signed.cli("sale", "--amount", "50.00", "--track2", CARD["track2"], "--pin",
                      CARD["pin"], "--training")
    assert sale.code == 0 and sale.data["result"] == "approved"
    shown = signed.cli("status", "--training", "--lang", "en", as_json=False)
    assert "Training mode: transactions are not payments" in shown.output
    assert "1 sale(s) ¥50.00" in shown.output
    again = signed.cli("reprint", "--training", "--lang", "en", as_json=False)
    assert "TRAINING — NOT A PAYMENT" in again.output and "DUPLICATE" in again.output
    assert signed.cli("settle", "--training").code == 0
    assert money_at_the_host(signed.host.db) == before
    live = signed.cli("status", "--lang", "en", as_json=False)
    assert "0 sale(s) ¥0.00" in live.output and "Training mode" not in live.output
