"""The emergency cards for the counter (`steadypos terminal help [SITUATION]`): for each thing
that goes wrong at a till, the steps in order, in Chinese and English, from the catalogue."""

from __future__ import annotations

from enum import StrEnum

import typer

from steadypos import i18n


class Situation(StrEnum):
    NO_NETWORK = "no-network"
    PRINTER = "printer"
    REVERSAL_PENDING = "reversal-pending"
    BLOCKED = "blocked"
    SIGN_IN_REFUSED = "sign-in-refused"
    DOUBLE_CHARGE = "double-charge"
    CARD_LOCKED = "card-locked"


# How many steps each card has; the texts are `emergency.<situation>.<n>` in the catalogue.
STEPS = {
    Situation.NO_NETWORK: 5,
    Situation.PRINTER: 4,
    Situation.REVERSAL_PENDING: 4,
    Situation.BLOCKED: 4,
    Situation.SIGN_IN_REFUSED: 4,
    Situation.DOUBLE_CHARGE: 4,
    Situation.CARD_LOCKED: 3,
}


def _key(situation: Situation, part: str) -> str:
    return f"emergency.{situation.value.replace('-', '_')}.{part}"


def title(situation: Situation, lang: str) -> str:
    return i18n.t(_key(situation, "title"), lang)


def steps(situation: Situation, lang: str) -> list[str]:
    """The card's steps in order, in one language."""
    return [i18n.t(_key(situation, str(n)), lang) for n in range(1, STEPS[situation] + 1)]


def card(situation: Situation, lang: str) -> str:
    """One card as plain text: its title, then numbered steps."""
    lines = [title(situation, lang)]
    lines += [f"  {n}. {step}" for n, step in enumerate(steps(situation, lang), 1)]
    return "\n".join(lines)


def index(lang: str) -> str:
    """Every situation with its name to type, for a cashier who does not know which card to open."""
    lines = [i18n.t("emergency.index", lang)]
    lines += [f"  {s.value:<18} {title(s, lang)}" for s in Situation]
    return "\n".join(lines)


def command(
    situation: Situation | None = typer.Argument(
        None, help="what went wrong; leave out to list every situation"),
    lang: str | None = typer.Option(
        None, "--lang", help="zh or en; default from the locale (LC_ALL, LC_MESSAGES, LANG)"),
) -> None:
    """Print the emergency card for the counter: what to do, step by step."""
    try:
        chosen = i18n.language(lang)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None
    typer.echo(card(situation, chosen) if situation else index(chosen))
