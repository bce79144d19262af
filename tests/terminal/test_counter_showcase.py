"""The demo's counter screens of an interrupted payment (counter/showcase.py), in Chinese and
English: a lost answer says the payment is being reversed; the next start says, before
anything else, that the customer was not charged, holds back the same amount until the cashier
confirms, and the money at the host is where the screens say."""

from __future__ import annotations

import os
from pathlib import Path

from counter_pilot import DOCS
from rig import CARD, TerminalRig

from steadypos.terminal.counter import showcase


def test_the_screens_of_a_lost_answer_in_both_languages(signed: TerminalRig,
                                                        tmp_path: Path) -> None:
    out = DOCS if os.environ.get("STEADYPOS_SCREENSHOTS") == "1" else tmp_path
    before = signed.host.card_balance(CARD)
    during = showcase.lost_answer(signed.journal, "30.00", CARD["track2"], CARD["pin"],
                                  lambda: signed.proxy.set("drop", "0200"),
                                  lambda: signed.proxy.set("forward"), out)
    assert signed.host.card_balance(CARD) == before - 3000  # the host charged; no answer came
    assert [(s.name, s.lang) for s in during] == [("lost-answer", "zh"), ("lost-answer", "en")]
    zh, en = (s.text for s in during)
    assert "消费: 未完成" in zh and "正在冲正" in zh and "请勿重复收款" in zh
    assert "sale: NOT COMPLETED" in en and "BEING REVERSED" in en and "Do not charge again" in en
    assert all(s.svg.read_text().startswith("<svg") for s in during)

    after = showcase.next_start(signed.journal, "30.00", out)
    assert signed.host.card_balance(CARD) == before  # reversed at start: not charged
    texts = {(s.name, s.lang): s.text for s in after}
    zh, en = texts[("next-start", "zh")], texts[("next-start", "en")]
    assert zh.index("上一笔交易被中断") < zh.index("¥30.00") < zh.index("未扣款")
    assert en.index("THE LAST PAYMENT WAS INTERRUPTED") < en.index("NOT CHARGED")
    assert "请先阅读屏幕上方的提示" in texts[("same-amount", "zh")]
    assert "read the notice at the top" in texts[("same-amount", "en")]
    assert "INTERRUPTED" not in texts[("confirmed", "zh")]
    assert "上一笔交易被中断" not in texts[("confirmed", "zh")]
    assert signed.view().reversals == []
