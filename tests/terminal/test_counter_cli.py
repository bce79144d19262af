"""`terminal status` and `terminal reprint`: what they say in both languages, money in yuan, and
that every message naming one of them is kept (the printer jam's "reprint", "recover" after a
lost answer)."""

from __future__ import annotations

from rig import CARD, TerminalRig, receipts


def test_status_says_keys_batch_totals_and_contact_in_both_languages(term: TerminalRig) -> None:
    fresh = term.cli("status", "--lang", "en", as_json=False)
    assert fresh.code == 0
    assert "Not signed in" in fresh.output and "No contact with the host yet" in fresh.output
    term.sign_in()
    term.sale("12.34")
    term.sale("0.66")
    en = term.cli("status", "--lang", "en", as_json=False)
    assert "Signed in, open batch 000001" in en.output
    assert "Open batch 000001: 2 sale(s) ¥13.00, 0 refund(s) ¥0.00" in en.output
    assert "Last host contact:" in en.output and "(answer 00)" in en.output
    assert "No reversal pending" in en.output
    zh = term.cli("status", "--lang", "zh", as_json=False)
    assert "已签到，当前批次 000001" in zh.output and "消费 2 笔 ¥13.00" in zh.output
    data = term.cli("status").data
    assert data["signed_in"] is True and data["debit_total"] == 1300 and data["debit_count"] == 2


def test_status_names_a_pending_reversal_and_recover_clears_it(signed: TerminalRig) -> None:
    before = signed.host.card_balance(CARD)
    signed.proxy.set("drop", "0200")
    lost = signed.sale("8.00")
    assert lost.code == 3 and lost.data["reversal_pending"] is True
    signed.proxy.set("blackhole", "0400")
    shown = signed.cli("status", "--lang", "en", as_json=False)
    assert f"Reversal pending: sale trace {lost.data['stan']}, ¥8.00" in shown.output
    assert "steadypos terminal recover --journal J" in shown.output
    signed.proxy.set("forward")
    assert signed.cli("recover").code == 0  # what the status line told the operator to run
    assert signed.host.card_balance(CARD) == before
    after = signed.cli("status", "--lang", "en", as_json=False)
    assert "No reversal pending" in after.output and "Reversal pending" not in after.output


def test_a_printer_jam_says_reprint_and_reprint_prints_the_duplicate(signed: TerminalRig) -> None:
    before = signed.host.card_balance(CARD)
    jammed = signed.sale("12.34", bench=("--fault", "printer=jam"))
    assert jammed.code == 0 and "reprint the receipt" in jammed.data["message"]
    assert receipts(signed.journal) == {}
    again = signed.cli("reprint", "--lang", "en", as_json=False)
    assert again.code == 0, again.output
    name = f"{jammed.data['batch']}-{jammed.data['stan']}.txt"
    slip = receipts(signed.journal)[name]
    assert "重印 DUPLICATE REPRINT" in slip and "AMOUNT RMB 12.34" in slip
    assert f"RRN {jammed.data['rrn']}" in slip and CARD["pan"] not in slip
    assert "marked DUPLICATE" in again.output
    assert signed.host.card_balance(CARD) == before - 1234  # a reprint moves no money


def test_reprint_by_stan_keeps_the_first_slip_and_refuses_what_is_not_there(
        signed: TerminalRig) -> None:
    first = signed.sale("1.00")
    signed.sale("2.00")
    ran = signed.cli("reprint", "--stan", first.data["stan"], "--lang", "zh", as_json=False)
    assert ran.code == 0 and "已重印凭证号" in ran.output
    got = receipts(signed.journal)
    stem = f"{first.data['batch']}-{first.data['stan']}"
    assert "REPRINT" not in got[f"{stem}.txt"] and "REPRINT" in got[f"{stem}-dup1.txt"]
    missing = signed.cli("reprint", "--stan", "999", "--lang", "en", as_json=False)
    assert missing.code == 1 and "No approved payment with trace 000999" in missing.output
    jam = signed.cli("reprint", "--lang", "en", as_json=False,
                     bench=("--fault", "printer=paper_out"))
    assert jam.code == 1 and "Printer out of paper: nothing reprinted" in jam.output
