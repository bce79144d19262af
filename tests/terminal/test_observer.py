"""The terminal tells an observer what it shows and does (the counter screen builds on it): the
amount, the masked card, the prompts, progress while online, the result with its code and what
it did to the money, the receipt, and a banner for a payment that was interrupted."""

from __future__ import annotations

import io

from rich.console import Console
from rig import CARD, KILLED, TerminalRig, wrong_pin

from steadypos.masking import mask_pan
from steadypos.terminal.flows import CardInput
from steadypos.terminal.observer import (
    PIN_TIMEOUT_S,
    AmountShown,
    Banner,
    CardShown,
    CliObserver,
    Progress,
    Prompt,
    PromptShown,
    ReceiptShown,
    Recorder,
    ResultShown,
    Screen,
    ScreenShown,
    Stage,
)
from steadypos.terminal.outcome import Charged
from steadypos.terminal.texts import text


def test_a_sale_is_told_step_by_step(signed: TerminalRig) -> None:
    seen = Recorder()
    with signed.open(observer=seen) as term:
        out = term.sale(1234, CardInput(track2=CARD["track2"]), CARD["pin"])
    assert out.result == "approved"
    screens = [e.screen for e in seen.of(ScreenShown)]
    assert screens == [Screen.IDLE, Screen.AMOUNT, Screen.CARD, Screen.PIN, Screen.ONLINE,
                       Screen.RECEIPT, Screen.RESULT, Screen.IDLE]
    assert seen.of(AmountShown) == [AmountShown("sale", 1234)]
    assert seen.of(CardShown) == [CardShown("swipe", mask_pan(CARD["pan"]))]
    prompts = seen.of(PromptShown)
    assert [p.prompt for p in prompts] == [Prompt.CARD, Prompt.PIN]
    assert prompts[1].timeout_s == PIN_TIMEOUT_S
    stages = [p.stage for p in seen.of(Progress) if p.kind == "sale"]
    assert stages == [Stage.CONNECTING, Stage.SENT]
    receipt = seen.of(ReceiptShown)
    assert len(receipt) == 1 and "AMOUNT RMB 12.34" in receipt[0].text
    assert mask_pan(CARD["pan"]) in receipt[0].text
    assert CARD["pan"] not in receipt[0].text
    assert seen.of(ResultShown) == [ResultShown("sale", "approved", Charged.YES, 1234, "00",
                                                "approved", out.stan, "approved",
                                                (text("terminal.result.approved"),))]


def test_a_decline_says_its_code_and_not_charged(signed: TerminalRig) -> None:
    seen = Recorder()
    with signed.open(observer=seen) as term:
        out = term.sale(1234, CardInput(track2=CARD["track2"]), wrong_pin(CARD))
    result = seen.of(ResultShown)[0]
    assert out.result == "declined" and out.rc == "55"
    assert (result.result, result.rc, result.rc_text, result.charged) == (
        "declined", "55", "wrong PIN", Charged.NO)


def test_an_interrupted_sale_gets_a_banner(signed: TerminalRig) -> None:
    ran = signed.spawn("sale", "--amount", "12.34", "--track2", CARD["track2"], "--pin",
                       CARD["pin"], kill_at="request_sent")
    assert ran.code == KILLED
    seen = Recorder()
    with signed.open(observer=seen):
        pass
    banners = seen.of(Banner)
    assert len(banners) == 1
    banner = banners[0]
    assert (banner.kind, banner.amount, banner.charged) == (
        "sale", 1234, Charged.REVERSING)
    assert banner.pan_masked == mask_pan(CARD["pan"])
    assert banner.text.key == "terminal.recovery.pending"
    with signed.open(observer=seen) as term:
        assert term.recover(explicit=True) is None
    last = seen.of(Banner)[-1]
    assert (last.charged, last.text.key) == (Charged.NO,
                                             "terminal.recovery.reversed")
    assert str(last.text) == "reversed: not charged"
    assert signed.view().txns[-1]["state"] == "reversed"


def test_the_cli_observer_prints_every_event_when_asked(signed: TerminalRig) -> None:
    buf = io.StringIO()
    with signed.open(observer=CliObserver(Console(file=buf, width=200), everything=True)) as t:
        t.sale(1234, CardInput(track2=CARD["track2"]), CARD["pin"])
    printed = buf.getvalue()
    assert "[amount] sale ¥12.34" in printed
    assert f"[card] swipe {mask_pan(CARD['pan'])}" in printed
    assert "[prompt] enter PIN (30 s)" in printed
    assert "[result] sale approved rc 00 (charged): approved" in printed
    assert CARD["pan"] not in printed
