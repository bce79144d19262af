"""The counter's catalogue parts: every key in both languages, every response code of the profile
with a reason and what to do, money in yuan, and the texts that name a command name one that
exists."""

from __future__ import annotations

import re

from test_emergency import COMMAND, _find

from steadypos import i18n
from steadypos.protocol.codes import ResponseCode
from steadypos.terminal.counter import receipt
from steadypos.terminal.counter.view import BannerView, Money, ResultView
from steadypos.terminal.counter.words import reason, say, what_to_do

PARTS = ("counter.", "rc.", "status.", "reprint.", "receipt.", "training.")


def _ours(lang: str) -> dict[str, str]:
    return {k: v for k, v in i18n.catalogue(lang).items() if k.startswith(PARTS)}


def test_both_languages_have_the_same_keys_and_different_words() -> None:
    zh, en = _ours("zh"), _ours("en")
    assert zh.keys() == en.keys() and len(zh) > 150
    for key in zh:  # a text and its translation take the same fields
        assert sorted(re.findall(r"{\w+}", zh[key])) == sorted(re.findall(r"{\w+}", en[key])), key
    same = [k for k in zh if zh[k] == en[k]]
    assert same == [], same
    assert not any("fen" in v for v in en.values())  # money is shown in yuan


def test_every_response_code_has_a_reason_and_what_to_do() -> None:
    for code in ResponseCode:
        for lang in i18n.LANGUAGES:
            assert not reason(code, lang).startswith("rc."), (code, lang)
            assert not what_to_do(code, lang).startswith("rc."), (code, lang)
    assert reason("Z9", "en") == "the bank answered an unknown code Z9"


def test_money_in_yuan_and_what_happened_to_it() -> None:
    view = ResultView("sale", "approved", Money.CHARGED, 123456, "00", "622202******0123",
                      stan=7)
    assert view.lines("zh")[:2] == ["消费: 成功", "已扣款 ¥1234.56"]
    declined = ResultView("sale", "declined", Money.NOT_CHARGED, 500, "51")
    assert declined.lines("en") == ["sale: DECLINED", "NOT CHARGED",
                                    "not enough money on the card (51)",
                                    "ask for another card or another way to pay"]
    banner = BannerView("sale", 3, 800, "622202******0123", Money.BEING_REVERSED)
    assert "¥8.00" in banner.line("en") and "NOT FINISHED" in banner.line("en")
    assert say("status.batch", "en", batch="000001", debit_count=1, debit_total=5,
               credit_count=0, credit_total=0).endswith("1 sale(s) ¥0.05, 0 refund(s) ¥0.00")


def test_commands_the_counter_texts_name_exist() -> None:
    named = 0
    for text in _ours("en").values():
        for words, options in COMMAND.findall(text):
            command = _find(words.split())
            assert command is not None, words
            known = {o for p in command.params for o in p.opts}
            assert set(re.findall(r"--[a-z-]+", options)) <= known, (words, options)
            named += 1
    assert named >= 4


def test_a_receipt_is_bilingual_and_marks_a_duplicate_and_training() -> None:
    slip = receipt.text(tid="T0000001", mid="898310012345678", kind="refund",
                        pan_masked="622202******0123", amount=550, stan=12, batch=3,
                        rrn="000000000042", auth_code="123456", reprint=True, training=True)
    assert "交易类型 TYPE REFUND 退货" in slip and "金额 AMOUNT RMB 5.50" in slip
    assert "重印 DUPLICATE REPRINT" in slip and slip.count("TRAINING — NOT A PAYMENT") == 2
