"""The counter's pop-up screens: choose a method, key in a value, the PIN with its time-out, the
result in large type with the receipt preview, a menu, and a page of lines. Each is driven by
keys alone and hands its answer back with `dismiss`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Digits, Input, Static

from steadypos.terminal.counter.view import Money, ResultView
from steadypos.terminal.counter.words import say, yuan

PIN_TIMEOUT_S = 30
TIMED_OUT = "timeout"


@dataclass(frozen=True)
class Choice:
    key: str  # the key that picks it
    value: str
    label: str


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few choices with its key; Esc: none."""

    BINDINGS = [Binding("escape", "dismiss(None)", "back")]

    def __init__(self, title: str, choices: Sequence[Choice]) -> None:
        super().__init__()
        self.title_text, self.choices = title, list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(self.title_text, classes="title")
            for c in self.choices:
                yield Static(f"[{c.key.upper()}] {c.label}", markup=False)

    def on_key(self, event: events.Key) -> None:
        for c in self.choices:
            if event.key == c.key:
                event.stop()
                self.dismiss(c.value)
                return


class AskScreen(ModalScreen[str | None]):
    """One value keyed in: Enter hands it back (if `check` finds no fault), Esc: none."""

    BINDINGS = [Binding("escape", "dismiss(None)", "back")]

    def __init__(self, question: str, restrict: str | None = None, password: bool = False,
                 check: Callable[[str], str | None] | None = None, value: str = "") -> None:
        super().__init__()
        self.question, self.restrict, self.password = question, restrict, password
        self.check, self.value = check, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(self.question, classes="title", id="question")
            yield Input(self.value, restrict=self.restrict, password=self.password, id="answer")
            yield Static("", id="fault", classes="fault")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fault = self.check(event.value) if self.check else None
        if fault:
            self.query_one("#fault", Static).update(fault)
            return
        self.dismiss(event.value)


class PinScreen(AskScreen):
    """The PIN, masked, with the seconds left; at zero it hands back TIMED_OUT."""

    def __init__(self, lang: str, seconds: int = PIN_TIMEOUT_S) -> None:
        self.lang, self.left = lang, seconds
        super().__init__(say("counter.pin.prompt", lang, seconds=seconds), restrict=r"[0-9]*",
                         password=True, check=self._check)

    def _check(self, pin: str) -> str | None:
        if pin and not (4 <= len(pin) <= 12):
            return say("counter.pin.bad", self.lang)
        return None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.dismiss(TIMED_OUT)
            return
        self.query_one("#question", Static).update(
            say("counter.pin.prompt", self.lang, seconds=self.left))


class ResultScreen(ModalScreen[None]):
    """The result in words and in large type, what to do now, and the receipt preview."""

    BINDINGS = [Binding("enter", "dismiss(None)", "back"),
                Binding("escape", "dismiss(None)", "back"),
                Binding("g", "app.language", "中文/EN")]

    def __init__(self, view: ResultView, lang: str, receipt: str = "",
                 training: bool = False) -> None:
        super().__init__()
        self.view, self.lang, self.receipt, self.training = view, lang, receipt, training

    def show_in(self, lang: str) -> None:
        """The same result in another language (the app's language key)."""
        self.lang = lang
        self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        v, lang = self.view, self.lang
        good = v.result in ("approved", "done")
        with Vertical(classes="box " + ("good" if good else "bad")):
            if self.training:
                yield Static(say("counter.training", lang), classes="training")
            lines = v.lines(lang)
            yield Static(lines[0], classes="headline", id="headline")
            if v.money is not None and v.amount:
                yield Digits(yuan(v.amount), id="big")
            if v.money in (Money.BEING_REVERSED, Money.UNKNOWN):
                yield Static(lines[1], classes="warn")
                lines = lines[:1] + lines[2:]
            yield Static("\n".join(lines[1:]), id="lines", markup=False)
            if self.receipt:
                yield Static(say("counter.receipt.title", lang), classes="title")
                yield Static(self.receipt.rstrip(), id="receipt", classes="receipt",
                             markup=False)
            yield Static(say("counter.result.next", lang), classes="hint")


class PageScreen(ModalScreen[None]):
    """Lines to read (status, totals, an emergency card); Enter or Esc closes it."""

    BINDINGS = [Binding("enter", "dismiss(None)", "back"),
                Binding("escape", "dismiss(None)", "back")]

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title_text, self.lines = title, list(lines)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(self.title_text, classes="title")
            yield Static("\n".join(self.lines), id="page", markup=False)


CSS = """
ModalScreen { align: center middle; }
.box { width: 90%; height: auto; max-height: 95%; border: heavy $accent; padding: 0 1;
       background: $surface; }
.good { border: heavy green; }
.bad { border: heavy red; }
.title { text-style: bold; }
.headline { text-style: bold; color: $text; content-align: center middle; width: 100%; }
.warn { text-style: bold; color: yellow; }
.training { text-style: bold reverse; color: magenta; content-align: center middle;
            width: 100%; }
.receipt { border: round $secondary; width: auto; }
.hint { color: $text-muted; }
.fault { color: red; }
#banner { border: heavy yellow; color: yellow; text-style: bold; display: none; padding: 0 1; }
#banner.shown { display: block; }
#amount-big { width: auto; }
#top { background: $primary; color: $text; text-style: bold; padding: 0 1; }
#progress { color: $text-muted; }
"""
