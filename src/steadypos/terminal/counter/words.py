"""The counter's words: catalogue texts in the operator's language, money in yuan, response codes
as a reason and what to do now."""

from __future__ import annotations

from typing import Any

from steadypos import i18n
from steadypos.money import format_fen
from steadypos.terminal import texts
from steadypos.terminal.texts import MONEY_PARAMS, PROFILE_CODES


def yuan(fen: int) -> str:
    """1234 -> '12.34' (the catalogue puts the ¥ in front)."""
    return format_fen(fen)


def say(key: str, lang: str, **params: Any) -> str:
    """The text `key` in `lang`, amounts (fen) shown in yuan."""
    shown = {k: yuan(v) if k in MONEY_PARAMS and isinstance(v, int) else v
             for k, v in params.items()}
    return i18n.t(key, lang, **shown)


def kind(name: str, lang: str) -> str:
    """A transaction kind in words (sale -> 消费)."""
    return say(f"counter.kind.{name}", lang) if name else ""


def reason(rc: str, lang: str) -> str:
    """Why the host answered `rc`, in plain words."""
    return texts.reason(rc).say(lang)


def what_to_do(rc: str, lang: str) -> str:
    """What the cashier does after the answer `rc`."""
    return say(f"rc.{rc}.do" if rc in PROFILE_CODES else "rc.unknown.do", lang)


def both(key: str) -> str:
    """A text in Chinese and English on one line (receipts are bilingual)."""
    return f"{i18n.t(key, 'zh')} {i18n.t(key, 'en')}"
