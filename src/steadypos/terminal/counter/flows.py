"""What the cashier does at the counter, step by step: a sale (method, card, PIN), the menu's
void, refund, balance, settlement, sign-in, reprint, totals, recover, status, operator login and
logout, and the emergency cards. Each runs as a worker of the app; the engine's part runs on the
engine's thread and ends with the result screen's view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from steadypos.money import AmountError, parse_yuan
from steadypos.terminal import emergency, operators
from steadypos.terminal.counter import reprint as reprinting
from steadypos.terminal.counter import status as statuses
from steadypos.terminal.counter.bridge import Listener
from steadypos.terminal.counter.desk import Desk
from steadypos.terminal.counter.screens import (
    TIMED_OUT,
    AskScreen,
    Choice,
    ChoiceScreen,
    PageScreen,
    PinScreen,
)
from steadypos.terminal.counter.view import (
    PAYMENTS,
    BannerView,
    Money,
    ResultView,
    totals_lines,
)
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.observer import CardShown, ReceiptShown, ResultShown
from steadypos.terminal.outcome import Outcome

METHODS = (("s", "swipe"), ("i", "insert"), ("t", "tap"), ("q", "scan"))
Finished = tuple[ResultView, str]


def finish(listener: Listener, kind: str, amount: int, out: Outcome) -> Finished:
    """The result view and receipt text of a command that just ended (engine's thread)."""
    shown = listener.last(ResultShown)
    card = listener.last(CardShown)
    receipt = listener.last(ReceiptShown)
    money = Money(out.charged.value) if kind in PAYMENTS and kind != "balance" else None
    balance = out.extra.get("balance") if kind == "balance" else None
    view = ResultView(kind, out.result, money, shown.amount if shown else amount, out.rc,
                      card.pan_masked if card else "", out.message, balance,
                      receipt.fault if receipt else None, out.stan, out.said)
    return view, receipt.text if receipt else ""


def card_input(method: str, given: str) -> CardInput:
    if method == "swipe":
        return CardInput(track2=given.strip())
    if method == "scan":
        return CardInput(qr=given.strip())
    return CardInput(card_file=Path(given.strip()))  # insert or tap: the chip card's file


async def run(app: Desk, kind: str, amount: int,
              command: Callable[[Terminal], Outcome]) -> None:
    """Run an engine command that returns an Outcome and show its result."""
    listener = app.bridge.listener

    def go(t: Terminal) -> Finished:
        return finish(listener, kind, amount, command(t))

    done = await app.engine(go)
    if done is not None:
        await app.show_result(*done)


async def sale(app: Desk, fen: int) -> None:
    method = await app.push_screen_wait(ChoiceScreen(
        app.t("counter.method.title", amount=fen),
        [Choice(k, m, app.t(f"counter.method.{m}")) for k, m in METHODS]))
    if method is None:
        return
    given = await app.push_screen_wait(AskScreen(app.t(f"counter.card.{method}", amount=fen)))
    if not given:
        return
    pin: str | None = None
    if method != "scan":
        pin = await app.push_screen_wait(PinScreen(app.lang))
        if pin is None:
            return
        if pin == TIMED_OUT:
            await app.show_result(ResultView("sale", "failed", Money.NOT_CHARGED, fen,
                                             message=app.t("counter.pin.timeout")))
            return
    card = card_input(method, given)
    await run(app, "sale", fen, lambda t: t.sale(fen, card, pin or None))


def _stan_fault(app: Desk, text: str) -> str | None:
    return None if text.isdigit() and 1 <= len(text) <= 6 else app.t("counter.ask.bad_stan")


def _amount_fault(app: Desk, text: str) -> str | None:
    try:
        parse_yuan(text)
    except AmountError:
        return app.t("counter.amount.bad")
    return None


async def ask_stan(app: Desk, optional: bool = False) -> str | None:
    key = "counter.ask.stan_optional" if optional else "counter.ask.stan"
    return await app.push_screen_wait(AskScreen(
        app.t(key), restrict=r"[0-9]*",
        check=(lambda s: None if not s else _stan_fault(app, s)) if optional
        else (lambda s: _stan_fault(app, s))))


async def void(app: Desk) -> None:
    stan = await ask_stan(app)
    if stan:
        await run(app, "void", 0, lambda t: t.void(int(stan)))


async def refund(app: Desk) -> None:
    stan = await ask_stan(app)
    if not stan:
        return
    amount = await app.push_screen_wait(AskScreen(app.t("counter.ask.refund_amount"),
                                                  restrict=r"[0-9.]*",
                                                  check=lambda s: _amount_fault(app, s)))
    if amount:
        fen = parse_yuan(amount)
        await run(app, "refund", fen, lambda t: t.refund(int(stan), fen))


async def balance(app: Desk) -> None:
    track2 = await app.push_screen_wait(AskScreen(app.t("counter.card.swipe", amount=0)))
    if not track2:
        return
    pin = await app.push_screen_wait(PinScreen(app.lang))
    if pin is None or pin == TIMED_OUT:
        return
    await run(app, "balance", 0, lambda t: t.balance(track2.strip(), pin))


def settle_what_is_left(t: Terminal) -> list[BannerView]:
    """At start: send what recovery left pending (reversals, unanswered refunds); a reversal
    that still cannot go is a banner of its own."""
    t.recover()
    left = []
    for rec in t.journal.reversals():
        txn = t.journal.txn(rec.txn_id)
        if txn is not None:
            left.append(BannerView(txn.kind, txn.stan, txn.amount, txn.pan_masked,
                                   Money.BEING_REVERSED))
    return left


async def reprint(app: Desk) -> None:
    stan = await ask_stan(app, optional=True)
    if stan is None:
        return
    done = await app.engine(lambda t: reprinting.reprint(t, int(stan) if stan else None))
    if done is None:
        return
    if done.txn is None:
        lines = [app.t("reprint.not_found", stan=f"{int(stan):06d}") if stan
                 else app.t("reprint.none")]
    elif done.fault is not None:
        lines = [app.t("reprint.printer", fault=app.t(f"counter.fault.{done.fault}"))]
    else:
        lines = [done.text.rstrip(), app.t("reprint.done", stan=f"{done.txn.stan:06d}",
                                           path=done.path)]
    await app.push_screen_wait(PageScreen(app.t("counter.menu.reprint"), lines))


async def totals(app: Desk) -> None:
    def read(t: Terminal) -> list[str]:
        tot, _ = t.totals(t.batch)
        return totals_lines(t.batch, tot.debit_count, tot.debit_total, tot.credit_count,
                            tot.credit_total, app.lang)

    lines = await app.engine(read)
    if lines is not None:
        await app.push_screen_wait(PageScreen(app.t("counter.menu.totals"), lines))


async def status(app: Desk) -> None:
    now = await app.engine(statuses.read)
    if now is not None:
        await app.push_screen_wait(PageScreen(app.t("counter.menu.status"),
                                              statuses.lines(now, app.lang)))


async def login(app: Desk) -> None:
    """An operator logs in by number; live, only if the TMS's rules let them (else they are
    told to practise in training mode first)."""
    number = await app.push_screen_wait(AskScreen(
        app.t("counter.ask.operator"), restrict=r"[0-9]*",
        check=lambda s: None if len(s) == 2 else app.t("counter.ask.bad_operator")))
    if not number:
        return
    done = "counter.login.done"
    if not app.training:  # live: the TMS's rules decide (training mode is open to anyone)
        told = await app.engine(lambda t: operators.check(app.journal, t.cfg["tid"], number,
                                                          app.tms))
        if told is None:
            return
        if not told.live:
            app.notice("counter.login.training_only" if told.fresh
                       else "counter.login.training_only_offline", operator=number)
            return
        done = done if told.fresh else "counter.login.done_offline"
    app.operator = number
    await app.engine(lambda t: t.events.emit("operator", event="login", operator=number))
    app.notice(done, operator=number)
    app.refresh_texts()


async def logout(app: Desk) -> None:
    who = app.operator
    if who is None:
        return
    app.operator = None
    await app.engine(lambda t: t.events.emit("operator", event="logout", operator=who))
    app.notice("counter.logout.done", operator=who)
    app.refresh_texts()


async def emergency_cards(app: Desk) -> None:
    keys = [str(n) for n in range(1, len(emergency.Situation) + 1)]
    picked = await app.push_screen_wait(ChoiceScreen(
        app.t("counter.menu.help"),
        [Choice(k, s.value, emergency.title(s, app.lang))
         for k, s in zip(keys, emergency.Situation, strict=True)]))
    if picked:
        situation = emergency.Situation(picked)
        await app.push_screen_wait(PageScreen(emergency.title(situation, app.lang),
                                              emergency.card(situation, app.lang)
                                              .splitlines()[1:]))


async def settle(app: Desk) -> None:
    await run(app, "settle", 0, lambda t: t.settle())


async def sign_in(app: Desk) -> None:
    await run(app, "sign_in", 0, lambda t: t.sign_in())


async def recover(app: Desk) -> None:
    await run(app, "recover", 0, lambda t: t.recover_now())


Action = Callable[[Desk], Awaitable[None]]
# The menu: key, name, whether it needs an operator logged in (it moves money or closes the
# batch), what it does.
MENU: tuple[tuple[str, str, bool, Action], ...] = (
    ("1", "void", True, void), ("2", "refund", True, refund), ("3", "balance", True, balance),
    ("4", "settle", True, settle), ("5", "sign_in", False, sign_in),
    ("6", "reprint", False, reprint), ("7", "totals", False, totals),
    ("8", "recover", False, recover), ("9", "status", False, status),
    ("h", "help", False, emergency_cards), ("l", "login", False, login),
    ("o", "logout", False, logout),
)


async def menu(app: Desk) -> None:
    picked = await app.push_screen_wait(ChoiceScreen(
        app.t("counter.menu.title"),
        [Choice(key, name, app.t(f"counter.menu.{name}")) for key, name, _, _ in MENU]))
    entry = next((m for m in MENU if m[1] == picked), None)
    if entry is None:
        return
    _, _, needs_operator, action = entry
    if needs_operator and app.operator is None:
        app.notice("counter.login.needed")
        return
    await action(app)
    app.refresh_texts()
