"""`steadypos terminal ui`: the counter screen a cashier runs all day. The amount is keyed on the
keypad (digits, `.`, Backspace, Enter); every other action has a letter; the engine runs on its
own thread (bridge.py) and reports through the observer, so the screen never freezes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Digits, Footer, Static

from steadypos import i18n
from steadypos.money import AmountError, parse_yuan
from steadypos.terminal import fleet
from steadypos.terminal.counter import course, flows, heartbeats
from steadypos.terminal.counter.bridge import Bridge, EngineError, Refused
from steadypos.terminal.counter.screens import CSS, PageScreen, ResultScreen
from steadypos.terminal.counter.view import BannerView, Money, ResultView
from steadypos.terminal.counter.words import say
from steadypos.terminal.flows import Terminal
from steadypos.terminal.observer import Banner, Progress, TerminalEvent
from steadypos.terminal.settings import TerminalSettings

T = TypeVar("T")
MAX_AMOUNT_CHARS = 13  # ten digits of yuan, the point, two decimals


class EngineEvent(Message):
    """An observer event, carried from the engine's thread to the app's."""

    def __init__(self, event: TerminalEvent) -> None:
        super().__init__()
        self.event = event


class CounterApp(App[None]):
    CSS = CSS
    TITLE = "steadypos"
    BINDINGS = [
        Binding("m", "menu", "menu"),
        Binding("l", "login", "login"),
        Binding("h", "help", "help"),
        Binding("t", "course", "training"),
        Binding("g", "language", "中文/EN"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, journal: Path, lang: str, training: bool = False,
                 settings: TerminalSettings | None = None,
                 opener: Callable[..., Terminal] | None = None, tms: fleet.Api | None = None,
                 heartbeat_every: float = heartbeats.EVERY_S) -> None:
        super().__init__()
        self.journal, self.lang, self.training = journal, lang, training
        self.tms, self.heartbeat_every = tms, heartbeat_every
        self.heartbeats = 0  # sent since the screen opened
        self.bridge = Bridge(journal, self._from_engine, settings, opener)
        self.typed = ""
        self.operator: str | None = None
        self.banners: list[BannerView] = []
        self.busy = False
        self.tid = "?"
        self.course: course.Run | None = None
        self.noticed: tuple[str, dict[str, Any]] = ("", {})

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="top")
        yield Static("", id="banner")
        yield Static("", id="prompt")
        yield Digits("0.00", id="amount-big")
        yield Static("", id="amount-text")
        yield Static("", id="progress")
        yield Static("", id="notice")
        yield Footer()

    async def on_mount(self) -> None:
        cfg = await asyncio.wrap_future(self.bridge.open())
        self.tid = cfg.get("tid", "?")
        self.refresh_texts()
        # What an interrupted payment left is settled now, before the first sale: the banners
        # say what became of it; a reversal that cannot go yet stays on the screen as such.
        left = await self.engine(flows.settle_what_is_left)
        for banner in left or []:
            self._add_banner(banner)
        self.refresh_texts()
        self.tms = None if self.training else self.tms or fleet.client_for(self.journal)
        if self.tms is not None:  # activated through a TMS: heartbeats in the background
            self.set_interval(self.heartbeat_every, self._heartbeat)

    async def _heartbeat(self) -> None:
        if self.busy or self.tms is None:
            return  # a payment is being keyed or runs: the next tick sends it
        sent, why = await asyncio.wrap_future(self.bridge.run(
            heartbeats.command(self.journal, self.tms)))
        self.heartbeats += sent
        if not sent:
            self.notice(self.t("counter.heartbeat_failed", what=why))

    def _from_engine(self, event: TerminalEvent) -> None:
        self.post_message(EngineEvent(event))  # thread-safe: the engine's thread calls it

    def on_unmount(self) -> None:
        self.bridge.close()

    def t(self, key: str, **params: Any) -> str:
        return say(key, self.lang, **params)

    def refresh_texts(self) -> None:
        """Every text of the main screen, in the language chosen now."""
        top = [self.t("counter.title", tid=self.tid),
               self.t("counter.operator", operator=self.operator) if self.operator
               else self.t("counter.no_operator")]
        if self.training:
            top.append(self.t("counter.training"))
        self.query_one("#top", Static).update("  ·  ".join(top))
        banner = self.query_one("#banner", Static)
        if self.banners:
            lines = [self.t("counter.banner.title")] + [b.line(self.lang) for b in self.banners]
            banner.update("\n".join(lines + [self.t("counter.banner.confirm")]))
            banner.add_class("shown")
        else:
            banner.update("")
            banner.remove_class("shown")
        task = self.course.task(self.lang) if self.course else ""
        self.query_one("#prompt", Static).update(task or self.t("counter.idle"))
        self._show_amount()
        self.notice(self.noticed[0], **self.noticed[1])

    def _show_amount(self) -> None:
        shown = self.typed or "0.00"
        self.query_one("#amount-big", Digits).update(shown)
        self.query_one("#amount-text", Static).update(f"{self.t('counter.amount.label')}: "
                                                      f"¥{shown}")

    def notice(self, key: str = "", **params: Any) -> None:
        """A one-line notice under the amount, kept as its text key so that it follows the
        language key (`g`); no key clears it."""
        self.noticed = (key, params)
        self.query_one("#notice", Static).update(self.t(key, **params) if key else "")

    # -- what the engine shows ---------------------------------------------------------------
    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, Banner):
            money = Money(event.charged.value) if event.charged is not None else None
            self._add_banner(BannerView(event.kind, event.stan, event.amount, event.pan_masked,
                                        money, event.text))
            self.refresh_texts()
        elif isinstance(event, Progress) and self.busy:  # a late one after the end: dropped
            self.query_one("#progress", Static).update(
                self.t(f"counter.stage.{event.stage.value}",
                       stan=f"{event.stan or 0:06d}"))

    def _add_banner(self, banner: BannerView) -> None:
        """Show a banner; a newer word on the same payment replaces the older one."""
        self.banners = [b for b in self.banners
                        if (b.kind, b.stan) != (banner.kind, banner.stan)] + [banner]

    async def engine(self, command: Callable[[Terminal], T]) -> T | None:
        """Run one engine command off the UI thread; None when it could not run (said why)."""
        self.busy = True
        self.query_one("#progress", Static).update(self.t("counter.online"))
        try:
            return await asyncio.wrap_future(self.bridge.run(command))
        except Refused as exc:
            self.notice("counter.refused", why=str(exc))
        except EngineError as exc:
            self.push_screen(PageScreen(self.t("counter.result.failed"),
                                        [self.t("counter.error", what=str(exc))]))
        finally:
            self.busy = False
            self.query_one("#progress", Static).update("")
        return None

    async def show_result(self, view: ResultView, receipt: str = "") -> None:
        await self.push_screen_wait(ResultScreen(view, self.lang, receipt, self.training))
        if self.course is not None:
            self.course.check(view)
            await self._course_next()
        self.refresh_texts()

    # -- the keypad --------------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        if self.screen is not self.screen_stack[0] or self.busy:
            return
        key = event.key
        if event.character and (event.character.isdigit() or event.character == "."):
            if len(self.typed) < MAX_AMOUNT_CHARS and _may_follow(self.typed, event.character):
                self.typed += event.character
        elif key == "backspace":
            self.typed = self.typed[:-1]
        elif key == "escape":
            self.typed = ""
        elif key == "enter":
            self._enter()
        else:
            return
        event.stop()
        self._show_amount()

    def _enter(self) -> None:
        if not self.typed:
            if self.banners:  # read and told the customer: the lock is lifted
                self.banners = []
                self.refresh_texts()
            return
        try:
            fen = parse_yuan(self.typed)
        except AmountError:
            self.notice("counter.amount.bad")
            return
        blocked = next((b for b in self.banners if b.blocks_same_amount and b.amount == fen),
                       None)
        if blocked is not None:
            self.notice("counter.amount.same_blocked", amount=fen)
            return
        if self.operator is None:
            self.notice("counter.login.needed")
            return
        self.typed = ""
        self.notice("")
        self.run_worker(flows.sale(self, fen), exclusive=True, group="flow")

    # -- actions -----------------------------------------------------------------------------
    def _idle(self) -> bool:
        return not self.busy and self.screen is self.screen_stack[0]

    def action_menu(self) -> None:
        if self._idle():
            self.run_worker(flows.menu(self), exclusive=True, group="flow")

    def action_login(self) -> None:
        if self._idle():
            self.run_worker(flows.login(self), exclusive=True, group="flow")

    def action_help(self) -> None:
        if self._idle():
            self.run_worker(flows.emergency_cards(self), exclusive=True, group="flow")

    def action_course(self) -> None:
        if not self._idle():
            return
        if not self.training:
            self.notice("counter.course.not_training")
            return
        self.course = course.Run(course.BASICS, self.operator or "")
        self.run_worker(self._course_next(), exclusive=True, group="flow")

    async def _course_next(self) -> None:
        """Ask the course's questions until it needs a flow from the operator, or it ends."""
        run = self.course
        if run is None:
            return
        await run.ask_questions(self)
        if run.done:
            self.course = None
            score = run.score_event()
            await self.engine(lambda t: course.record(self.journal, t.cfg["tid"], score))
            await self.push_screen_wait(PageScreen(
                self.t("counter.course.title", course=self.t(run.course.title)),
                run.feedback(self.lang) + [self.t("counter.course.score", score=run.score,
                                                  total=run.total)]))
        self.refresh_texts()

    def action_language(self) -> None:
        self.lang = i18n.LANGUAGES[(i18n.LANGUAGES.index(self.lang) + 1) % len(i18n.LANGUAGES)]
        self.refresh_texts()
        if isinstance(self.screen, ResultScreen):
            self.screen.show_in(self.lang)


def _may_follow(typed: str, char: str) -> bool:
    """Whether `char` may come next in a yuan amount: one point, two decimals."""
    if char == ".":
        return "." not in typed
    return "." not in typed or len(typed.split(".")[1]) < 2

