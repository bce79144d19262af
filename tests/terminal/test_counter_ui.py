"""The counter screen driven by Textual's Pilot against the real host: what the screen shows and
the money at the host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from counter_pilot import answer, drive, login, result, sale, shot, shown, until
from rig import CARD, CARD2, TerminalRig, wrong_pin
from test_training import money_at_the_host
from textual.pilot import Pilot
from textual.widgets import Input

from steadypos.terminal.counter import training
from steadypos.terminal.counter.app import CounterApp

TRACE = re.compile(r"TRACE (\d{6})")


def test_a_sale_shows_the_amount_the_card_and_charged(signed: TerminalRig, tmp_path: Path) -> None:
    before = signed.host.card_balance(CARD)
    app = CounterApp(signed.journal, "en")
    seen: dict[str, str] = {}

    async def script(pilot: Pilot[Any]) -> None:
        await login(pilot)
        await pilot.press(*"12.34")
        shot(app, "amount", tmp_path)
        await pilot.press("enter", "s")
        await answer(pilot, CARD["track2"])
        await pilot.press(*"1234")
        shot(app, "pin", tmp_path)
        app.screen.query_one(Input).value = CARD["pin"]
        await pilot.press("enter")
        seen["result"] = await result(pilot)
        shot(app, "approved", tmp_path)
        await pilot.press("enter")
        seen["after"] = shown(app)

    drive(app, script)
    text = seen["result"]
    assert "sale: APPROVED" in text and "CHARGED ¥12.34" in text
    assert "622202*********" + CARD["pan"][-4:] in text and CARD["pan"] not in text
    assert "AMOUNT RMB 12.34" in text and "Give the customer the receipt" in text
    assert signed.host.card_balance(CARD) == before - 1234
    assert "Key in the amount" in seen["after"]


def test_after_a_kill_mid_payment_the_screen_says_first_whether_the_customer_was_charged(
        signed: TerminalRig, tmp_path: Path) -> None:
    before = signed.host.card_balance(CARD)
    killed = signed.spawn("sale", "--amount", "8.00", "--track2", CARD["track2"],
                          "--pin", CARD["pin"], kill_at="request_sent")
    assert killed.code == -9
    app = CounterApp(signed.journal, "en")
    seen: dict[str, str] = {}

    async def script(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: bool(app.banners) and not app.busy, "the banner")
        seen["banner"] = shown(app)
        await login(pilot)
        shot(app, "banner", tmp_path)
        await pilot.press(*"8.00", "enter")  # the same amount: refused until confirmed
        await pilot.pause()
        seen["blocked"] = shown(app)
        await pilot.press("escape", "enter")  # no amount + Enter: read and told the customer
        await pilot.pause()
        seen["confirmed"] = shown(app)
        seen["again"] = await sale(pilot, "8.00", "s", CARD["track2"], CARD["pin"])

    drive(app, script)
    banner = seen["banner"]
    assert "THE LAST PAYMENT WAS INTERRUPTED" in banner
    assert "sale ¥8.00" in banner and "NOT CHARGED" in banner
    assert banner.index("INTERRUPTED") < banner.index("Key in the amount")
    assert "read the notice at the top and press Enter" in seen["blocked"]
    assert "INTERRUPTED" not in seen["confirmed"]
    assert "CHARGED ¥8.00" in seen["again"]
    assert signed.host.card_balance(CARD) == before - 800  # charged once, not twice


def test_a_lost_answer_shows_being_reversed_and_the_next_start_says_not_charged(
        signed: TerminalRig, tmp_path: Path) -> None:
    before = signed.host.card_balance(CARD)
    signed.proxy.set("drop", "0200")
    seen: dict[str, str] = {}
    app = CounterApp(signed.journal, "zh")

    async def script(pilot: Pilot[Any]) -> None:
        await login(pilot)
        seen["lost"] = await sale(pilot, "5.00", "s", CARD["track2"], CARD["pin"])
        shot(app, "being-reversed-zh", tmp_path)

    drive(app, script)
    assert "消费: 未完成" in seen["lost"] and "正在冲正" in seen["lost"]
    assert "保持终端联网" in seen["lost"]
    signed.proxy.set("forward")
    again = CounterApp(signed.journal, "zh")

    async def restart(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: bool(again.banners) and not again.busy, "the banner")
        seen["banner"] = shown(again)
        shot(again, "banner-zh", tmp_path)

    drive(again, restart)
    assert "上一笔交易被中断" in seen["banner"] and "¥5.00" in seen["banner"]
    assert "未扣款" in seen["banner"]
    assert signed.host.card_balance(CARD) == before


def test_a_refund_and_a_wrong_pin_from_the_menu(signed: TerminalRig, tmp_path: Path) -> None:
    before = signed.host.card_balance(CARD2)
    first = signed.sale("30.00", card=CARD2)
    app = CounterApp(signed.journal, "en")
    seen: dict[str, str] = {}

    async def script(pilot: Pilot[Any]) -> None:
        await login(pilot)
        await pilot.press("m")
        shot(app, "menu", tmp_path)
        await pilot.press("2")
        await answer(pilot, str(int(first.data["stan"])))
        await answer(pilot, "12.50")
        seen["refund"] = await result(pilot)
        await pilot.press("enter")
        seen["wrong"] = await sale(pilot, "1.00", "s", CARD2["track2"], wrong_pin(CARD2))
        shot(app, "declined", tmp_path)

    drive(app, script)
    assert "refund: APPROVED" in seen["refund"] and "REFUNDED ¥12.50" in seen["refund"]
    assert "TYPE REFUND" in seen["refund"]
    assert "sale: DECLINED" in seen["wrong"] and "NOT CHARGED" in seen["wrong"]
    assert "wrong PIN (55)" in seen["wrong"] and "enter the PIN again" in seen["wrong"]
    assert signed.host.card_balance(CARD2) == before - 3000 + 1250


def test_training_mode_course_with_its_score_and_no_money_moved(signed: TerminalRig,
                                                                tmp_path: Path) -> None:
    before = money_at_the_host(signed.host.db)
    app = CounterApp(signed.journal, "en", training=True, opener=training.open_terminal)
    seen: dict[str, str] = {}

    async def script(pilot: Pilot[Any]) -> None:
        await login(pilot, "07")
        await pilot.press("t")
        await pilot.pause()
        seen["task"] = shown(app)
        first = await sale(pilot, "12.34", "s", CARD["track2"], CARD["pin"])
        seen["sale"] = first
        await pilot.press("enter")
        await sale(pilot, "20.00", "s", CARD2["track2"], wrong_pin(CARD2))
        await pilot.press("enter")
        await pilot.press("i")  # a chip card swiped by mistake: insert it
        await pilot.press("m", "1")
        await answer(pilot, TRACE.search(first).group(1))  # type: ignore[union-attr]
        await result(pilot)
        await pilot.press("enter")
        other = await sale(pilot, "9.00", "s", CARD2["track2"], CARD2["pin"])  # not judged
        await pilot.press("enter", "m", "2")
        await answer(pilot, TRACE.search(other).group(1))  # type: ignore[union-attr]
        await answer(pilot, "5.00")
        await result(pilot)
        await pilot.press("enter", "m", "4")
        await result(pilot)
        await pilot.press("enter")
        await pilot.press("w")  # wait for the reversal: right
        await pilot.press("c")  # charge again after a printer jam: wrong
        await until(pilot, lambda: "score" in shown(app), "the score")
        seen["score"] = shown(app)
        shot(app, "training-score", tmp_path)

    drive(app, script)
    assert "TRAINING — NOT A PAYMENT" in seen["task"] and "Exercise 1/8" in seen["task"]
    assert "TRAINING — NOT A PAYMENT" in seen["sale"] and "CHARGED ¥12.34" in seen["sale"]
    assert "Training done: score 7/8" in seen["score"]
    assert "do not charge again: it is charged, just reprint (P)" in seen["score"]
    assert money_at_the_host(signed.host.db) == before
    scored = [e for e in signed.events() if e["type"] == "training"]
    assert scored == [scored[0]] and scored[0]["operator"] == "07"
    assert scored[0]["course"] == "basics" and scored[0]["score"] == 7
    assert scored[0]["missed"] == ["printer"]
