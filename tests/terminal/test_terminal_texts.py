"""The engine's words for the operator (terminal/texts.py) come from the one catalogue: every key
in Chinese and English with the same parameters, and the console says them in the operator's
language (`--lang`, default the locale), money in yuan; `--json` keeps English for tools."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from rig import CARD, TerminalRig

from steadypos import i18n
from steadypos.terminal import texts

SRC = Path(texts.__file__).resolve().parent


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _keys_in(lang: str) -> dict[str, str]:
    return {k: v for k, v in i18n.catalogue(lang).items() if k.startswith("terminal.")}


def test_every_terminal_text_is_in_chinese_and_english_with_the_same_parameters() -> None:
    en, zh = _keys_in("en"), _keys_in("zh")
    assert en and en.keys() == zh.keys()
    for key in en:
        assert _fields(en[key]) == _fields(zh[key]), key
        assert re.search("[\u4e00-\u9fff]", zh[key]), key  # said in Chinese


def test_every_key_the_engine_names_is_in_the_catalogue() -> None:
    named = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"terminal\.[a-z_]+\.[a-z_]+", node.value):
                named.add(node.value)
    assert named and named <= _keys_in("en").keys() <= i18n.catalogue("zh").keys()


def test_a_text_is_said_in_either_language_money_in_yuan() -> None:
    line = texts.text("terminal.recovery.line", kind="sale", stan="000007",
                      pan="622202*********0123", amount=1234,
                      what=texts.text("terminal.recovery.reversed"))
    assert str(line) == ("unfinished sale STAN 000007 (622202*********0123, ¥12.34): reversed: "
                         "not charged")
    assert line.say("zh") == ("未完成的消费，凭证号 000007（622202*********0123，¥12.34）："
                              "已冲正：未扣款")
    declined = texts.text("terminal.result.declined", rc="51", rc_text=texts.reason("51"))
    assert declined.say("zh") == f"交易被拒：51 {i18n.t('rc.51', 'zh')}"
    assert str(declined) == "declined: 51 not enough money on the card"


def test_the_console_says_results_and_banners_in_chinese(signed: TerminalRig) -> None:
    sale = signed.cli("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                      CARD["pin"], "--lang", "zh", as_json=False)
    assert sale.code == 0 and "交易成功" in sale.output
    killed = signed.spawn("sale", "--amount", "8.00", "--track2", CARD["track2"], "--pin",
                          CARD["pin"], kill_at="request_sent")
    assert killed.code == -9
    ran = signed.cli("recover", "--lang", "zh", as_json=False)
    text = " ".join(ran.output.split())
    assert ran.code == 0 and "未完成的消费" in text and "¥8.00" in text and "已冲正：未扣款" in text
    assert "已处理完待处理的交易" in text
    en = signed.cli("recover", "--lang", "en", as_json=False)
    assert en.code == 0 and "nothing pending" in en.output
    as_json = signed.cli("recover", "--lang", "zh")
    assert as_json.data["message"] == "nothing pending"  # --json is for tools: English
    settle = signed.cli("settle", "--lang", "zh", as_json=False)
    assert "批次 000001 已结算：消费 1 笔 ¥12.34" in " ".join(settle.output.split())
    bad = signed.cli("settle", "--lang", "fr", as_json=False)
    assert bad.code == 2 and "Traceback" not in bad.output
