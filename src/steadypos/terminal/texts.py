"""What the terminal tells its operator: each text is a catalogue key (src/steadypos/i18n,
`terminal.*.json`) plus its parameters, said in Chinese or English. `str()` is the English, which
the journal, the event log and `--json` keep; the console and the counter screen say it in the
operator's language, amounts in yuan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from steadypos import i18n
from steadypos.money import format_fen
from steadypos.protocol.codes import ResponseCode

# Parameters that hold fen (shown in yuan), and those shown in words.
MONEY_PARAMS = frozenset({"amount", "refunded", "debit_total", "credit_total", "balance"})
KIND_PARAMS = frozenset({"kind"})
RESULT_PARAMS = frozenset({"result"})  # an Outcome's result (approved, declined, ...)
PROFILE_CODES = frozenset(c.value for c in ResponseCode)


def _shown(name: str, value: Any, lang: str) -> Any:
    """A parameter as the operator reads it in `lang`."""
    if isinstance(value, Text):
        return value.say(lang)
    if isinstance(value, tuple) and all(isinstance(v, Text) for v in value):
        return "".join(v.say(lang) for v in value)
    if name in MONEY_PARAMS and isinstance(value, int):
        return format_fen(value)
    if name in KIND_PARAMS and f"counter.kind.{value}" in i18n.catalogue(lang):
        return i18n.t(f"counter.kind.{value}", lang)
    if name in RESULT_PARAMS and f"terminal.outcome.{value}" in i18n.catalogue(lang):
        return i18n.t(f"terminal.outcome.{value}", lang)
    return value


@dataclass(frozen=True)
class Text:
    """A text for the operator: its catalogue key and parameters (other Texts may be among
    them); `str()` is the English."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def say(self, lang: str) -> str:
        """The text in `lang` (zh or en)."""
        template = i18n.catalogue(lang).get(self.key) or i18n.catalogue(i18n.FALLBACK)[self.key]
        return template.format(**{k: _shown(k, v, lang) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.say("en")


def text(key: str, **params: Any) -> Text:
    if key not in i18n.catalogue("en"):
        raise KeyError(f"no terminal text {key!r}")
    return Text(key, params)


def english(key: str, **params: Any) -> str:
    """The English text of `key` with its parameters filled in."""
    return str(text(key, **params))


def reason(rc: str) -> Text:
    """Why the host answered `rc`, in plain words (the counter's catalogue texts)."""
    return Text(f"rc.{rc}") if rc in PROFILE_CODES else Text("rc.unknown", {"rc": rc})
