"""What the terminal shows and does, as events for whoever listens: the CLI prints them, a counter
screen (Textual) draws them, tests record them. The engine never prints; it tells its observer.

Each event is a frozen dataclass; texts for the operator are `Text` (a catalogue key and its
parameters, English by `str()`). Amounts are fen, card numbers only ever masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

from rich.console import Console

from steadypos.eventlog import Screen
from steadypos.money import format_fen
from steadypos.terminal.outcome import Charged
from steadypos.terminal.texts import Text

PIN_TIMEOUT_S = 30.0  # how long the PIN pad waits for the customer


class Prompt(StrEnum):
    CARD = "card"
    PIN = "pin"


class Stage(StrEnum):
    """Progress while the terminal talks to the host."""

    CONNECTING = "connecting"
    SENT = "sent"  # the request is out, the terminal waits for the answer
    REVERSING = "reversing"
    SIGNING_IN = "signing_in"
    UPLOADING = "uploading"


@dataclass(frozen=True)
class ScreenShown:
    screen: Screen


@dataclass(frozen=True)
class AmountShown:
    kind: str  # sale, void, refund
    amount: int


@dataclass(frozen=True)
class CardShown:
    method: str  # F22's entry method by name (protocol.fields): swipe, chip, qr, manual...
    pan_masked: str


@dataclass(frozen=True)
class PromptShown:
    prompt: Prompt
    text: Text
    timeout_s: float | None = None


@dataclass(frozen=True)
class Progress:
    stage: Stage
    kind: str
    stan: int | None
    text: Text


@dataclass(frozen=True)
class ResultShown:
    """The end of an operator's command: approved/declined/failed/blocked/done."""

    kind: str
    result: str
    charged: Charged | None  # None: not a payment (sign-in, settlement)
    amount: int
    rc: str
    rc_text: str
    stan: int | None
    message: str
    said: tuple[Text, ...] = ()  # `message` as catalogue texts


@dataclass(frozen=True)
class ReceiptShown:
    """A receipt: printed, or not because the printer failed (`fault`)."""

    text: str
    reprint: bool
    fault: str | None = None


@dataclass(frozen=True)
class Banner:
    """After an interrupted payment: what became of it, and whether the customer was charged."""

    kind: str
    stan: int
    amount: int
    pan_masked: str
    charged: Charged | None
    text: Text
    line: Text  # the whole line as the CLI prints it


TerminalEvent = (ScreenShown | AmountShown | CardShown | PromptShown | Progress | ResultShown
                 | ReceiptShown | Banner)


E = TypeVar("E")


class Observer(Protocol):
    """Anything that listens to a terminal."""

    def notify(self, event: TerminalEvent) -> None: ...


class Quiet:
    """Listens to nothing."""

    def notify(self, event: TerminalEvent) -> None:
        return None


@dataclass
class Recorder:
    """Keeps every event, in order (tests, and the CLI's `--json` mode)."""

    events: list[TerminalEvent] = field(default_factory=list)

    def notify(self, event: TerminalEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class CliObserver:
    """Prints for a console: banners always (yellow); with `everything`, each screen, prompt,
    progress step, receipt and result as one line, as a counter screen would show them."""

    console: Console = field(default_factory=Console)
    everything: bool = False
    lang: str = "en"

    def notify(self, event: TerminalEvent) -> None:
        if isinstance(event, Banner):
            self.console.print(event.line.say(self.lang), style="yellow", markup=False,
                               highlight=False)
            return
        if not self.everything:
            return
        line = _line(event, self.lang)
        if line:
            self.console.print(line, markup=False, highlight=False)


def _line(event: TerminalEvent, lang: str) -> str:
    match event:
        case ScreenShown(screen):
            return f"[screen] {screen}"
        case AmountShown(kind, amount):
            return f"[amount] {kind} ¥{format_fen(amount)}"
        case CardShown(method, pan):
            return f"[card] {method} {pan}"
        case PromptShown(_, text, _):
            return f"[prompt] {text.say(lang)}"
        case Progress(_, _, _, text):
            return f"[online] {text.say(lang)}"
        case ReceiptShown(receipt, _, fault):
            return f"[receipt] printer {fault}" if fault else "[receipt]\n" + receipt.rstrip()
        case ResultShown(kind, result, charged, _, rc, _, _, message, said):
            money = f" ({charged})" if charged else ""
            code = f" rc {rc}" if rc else ""
            told = "".join(t.say(lang) for t in said) or message
            return f"[result] {kind} {result}{code}{money}: {told}"
    return ""
