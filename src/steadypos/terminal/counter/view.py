"""What the counter screen says, as plain lines in one language: the result of a command, the
banner after an interrupted payment, the totals. The Textual screens, the demo and the tests all
read these, so a screen never says something the catalogue does not."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from steadypos.protocol.codes import ResponseCode
from steadypos.terminal.counter.words import kind as kind_name
from steadypos.terminal.counter.words import reason, say, what_to_do
from steadypos.terminal.texts import Text

PAYMENTS = frozenset({"sale", "void", "refund", "balance"})


class Money(StrEnum):
    """What a flow did to the customer's money (the values of outcome.Charged)."""

    CHARGED = "charged"
    NOT_CHARGED = "not_charged"
    BEING_REVERSED = "being_reversed"
    UNKNOWN = "unknown"


def money_of(result: str, reversal_pending: bool, unknown: bool = False) -> Money:
    """From an Outcome's result and flags (the same rule as outcome.Outcome.charged)."""
    if result == "approved":
        return Money.CHARGED
    if reversal_pending:
        return Money.BEING_REVERSED
    return Money.UNKNOWN if unknown else Money.NOT_CHARGED


@dataclass(frozen=True)
class ResultView:
    """The end of one command, as the result screen shows it."""

    kind: str
    result: str  # approved, declined, failed, blocked, done
    money: Money | None  # None: not a payment
    amount: int
    rc: str = ""
    pan_masked: str = ""
    message: str = ""
    balance: int | None = None
    printer_fault: str | None = None
    stan: int | None = None
    said: tuple[Text, ...] = ()  # `message` as catalogue texts (the engine's Outcome.said)

    def told(self, lang: str) -> str:
        """The engine's own words in `lang` (English `message` when it has no catalogue text)."""
        return "".join(t.say(lang) for t in self.said) or self.message

    def headline(self, lang: str) -> str:
        return say(f"counter.result.{self.result}", lang)

    def money_line(self, lang: str) -> str:
        """What happened to the customer's money, in one line (empty for a non-payment)."""
        if self.money is None:
            return ""
        if self.money in (Money.BEING_REVERSED, Money.UNKNOWN):
            return say(f"counter.money.{self.money.value}", lang)
        return say(f"counter.money.{self.kind}.{self.money.value}", lang, amount=self.amount)

    def todo(self, lang: str) -> str:
        """What the cashier does now."""
        if self.printer_fault:
            return say("counter.do.printer", lang)
        if self.result == "blocked":
            return say("counter.do.blocked", lang)
        if self.money is Money.BEING_REVERSED:
            return say("counter.do.reversing", lang)
        if self.rc and self.result == "declined":
            return what_to_do(self.rc, lang)
        if self.result == "approved":
            return say("counter.do.approved", lang)
        if self.money is Money.NOT_CHARGED:
            return say("counter.do.retry", lang)
        return ""

    def lines(self, lang: str) -> list[str]:
        """Every line of the result screen, most important first."""
        out = [f"{kind_name(self.kind, lang)}: {self.headline(lang)}"]
        money = self.money_line(lang)
        if money:
            out.append(money)
        if self.pan_masked or self.stan:
            trace = say("counter.trace", lang, stan=f"{self.stan:06d}") if self.stan else ""
            out.append("  ".join(x for x in (self.pan_masked, trace) if x))
        if self.rc and self.rc != ResponseCode.APPROVED:
            out.append(f"{reason(self.rc, lang)} ({self.rc})")
        if self.balance is not None:
            out.append(say("counter.balance", lang, amount=self.balance))
        if self.printer_fault:
            out.append(say("counter.receipt.fault", lang,
                           fault=say(f"counter.fault.{self.printer_fault}", lang)))
        todo = self.todo(lang)
        if todo:
            out.append(todo)
        if self.money is None and self.message and self.result != "approved":
            out.append(self.told(lang))  # a settlement's or sign-in's own words
        return out


@dataclass(frozen=True)
class BannerView:
    """After an interrupted payment: what became of it, before anything else."""

    kind: str
    stan: int
    amount: int
    pan_masked: str
    money: Money | None
    what: Text | None = None  # the engine's words, for what is not a payment (a settlement)

    def line(self, lang: str) -> str:
        if self.money is None:
            return say("counter.banner.other", lang, kind=kind_name(self.kind, lang),
                       stan=f"{self.stan:06d}", what=self.what.say(lang) if self.what else "")
        return say(f"counter.banner.{self.money.value}", lang, kind=kind_name(self.kind, lang),
                   amount=self.amount, pan=self.pan_masked or "-", stan=f"{self.stan:06d}")

    @property
    def blocks_same_amount(self) -> bool:
        """A sale for this amount must wait until the operator confirmed reading the banner."""
        return self.kind == "sale" and self.money is not None


def totals_lines(batch: int, debit_count: int, debit_total: int, credit_count: int,
                 credit_total: int, lang: str) -> list[str]:
    """The X-report: the open batch's totals; the batch stays open."""
    return [say("counter.totals.title", lang, batch=f"{batch:06d}"),
            say("counter.totals.sales", lang, count=debit_count, amount=debit_total),
            say("counter.totals.refunds", lang, count=credit_count, amount=credit_total),
            say("counter.totals.net", lang, amount=debit_total - credit_total),
            say("counter.totals.open", lang)]
