"""The counter's commands: `steadypos terminal status`, `reprint` and `ui`, in the operator's
language (`--lang zh|en`, default from the locale)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from steadypos import i18n
from steadypos.terminal.counter import reprint as reprinting
from steadypos.terminal.counter import status as statuses
from steadypos.terminal.counter.words import say
from steadypos.terminal.observer import Banner, TerminalEvent
from steadypos.terminal.outcome import Exit
from steadypos.terminal.settings import TerminalSettings

JOURNAL = typer.Option(..., "--journal", help="the terminal's journal (state file)")
LANG = typer.Option(None, "--lang", help="zh or en; default from the locale (LC_ALL, "
                                         "LC_MESSAGES, LANG)")
AS_JSON = typer.Option(False, "--json", help="print one JSON object")
TRAINING = typer.Option(False, "--training", help="training mode: the journal's training copy "
                        "(header terminal state 1, the host's sandbox)")


def language(wish: str | None) -> str:
    try:
        return i18n.language(wish)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


def fail(message: str) -> None:
    """One line on stderr, exit 2: the command did nothing."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(Exit.USAGE)


class Banners:
    """Hands each banner's line (what recovery did, was the customer charged), in `lang`, to
    `say`."""

    def __init__(self, say: Callable[[str], None], lang: str = "en") -> None:
        self.say, self.lang = say, lang

    def notify(self, event: TerminalEvent) -> None:
        if isinstance(event, Banner):
            self.say(event.line.say(self.lang))


def settings_of(ctx: typer.Context) -> TerminalSettings | None:
    """What the `terminal` group's options decided (device faults, ...), if it ran."""
    return getattr(ctx.obj, "settings", None)


@contextmanager
def opened(ctx: typer.Context, journal: Path, on_banner: Callable[[str], None],
           training: bool, lang: str = "en") -> Iterator[Any]:
    """The terminal, open (it recovers what the journal alone settles), closed afterwards."""
    from steadypos.terminal.checks import open_checked, refuse_damaged
    from steadypos.terminal.counter.training import open_terminal
    from steadypos.terminal.flows import Terminal
    from steadypos.terminal.lifecycle import TerminalError

    try:
        term = open_checked(open_terminal if training else Terminal.open, journal,
                            Banners(on_banner, lang), settings_of(ctx))
    except TerminalError as exc:
        fail(exc.say(lang))
        raise
    try:
        yield term
    except (sqlite3.DatabaseError, ValueError) as exc:  # it opened; a page or value read on
        # the way is damaged (these commands take no input a ValueError could be about)
        fail(refuse_damaged(term, journal, exc).say(lang))
    except BaseException as exc:
        term.close("crash", exc)
        raise
    term.close()


def status(ctx: typer.Context, journal: Path = JOURNAL, lang: str | None = LANG,
           as_json: bool = AS_JSON, training: bool = TRAINING) -> None:
    """Signed in or not, pending reversal, open batch and its totals, last host contact."""
    chosen = language(lang)
    banners: list[str] = []
    with opened(ctx, journal, banners.append, training, "en" if as_json else chosen) as term:
        now = statuses.read(term)
    if as_json:
        typer.echo(json.dumps(now.to_json() | {"recovered": banners}))
        return
    for line in banners + statuses.lines(now, chosen):
        typer.echo(line)


def reprint(ctx: typer.Context, journal: Path = JOURNAL,
            stan: int = typer.Option(None, "--stan", help="its trace number (default: the last "
                                                          "approved one)"),
            lang: str | None = LANG, training: bool = TRAINING) -> None:
    """Reprint an approved receipt of the open batch, marked DUPLICATE (重印)."""
    chosen = language(lang)
    with opened(ctx, journal, typer.echo, training, chosen) as term:
        done = reprinting.reprint(term, stan)
    if done.txn is None:
        typer.echo(say("reprint.not_found", chosen, stan=f"{stan:06d}") if stan is not None
                   else say("reprint.none", chosen))
        raise typer.Exit(Exit.DECLINED)
    if done.fault is not None:
        typer.echo(say("reprint.printer", chosen, fault=say(f"counter.fault.{done.fault}",
                                                            chosen)))
        raise typer.Exit(Exit.DECLINED)
    typer.echo(done.text.rstrip())
    typer.echo(say("reprint.done", chosen, stan=f"{done.txn.stan:06d}", path=done.path))


def ui(ctx: typer.Context, journal: Path = JOURNAL, lang: str | None = LANG,
       training: bool = TRAINING) -> None:
    """The counter screen: a full-screen app for the cashier (keyboard only; runs in tmux)."""
    from steadypos.terminal.checks import open_checked
    from steadypos.terminal.counter import training as practice
    from steadypos.terminal.counter.app import CounterApp
    from steadypos.terminal.flows import Terminal
    from steadypos.terminal.lifecycle import TerminalError

    chosen = language(lang)
    opener = practice.open_terminal if training else Terminal.open
    try:
        # A terminal that cannot open says so here, in one line.
        open_checked(opener, journal, None, settings_of(ctx)).close()
    except TerminalError as exc:
        fail(exc.say(chosen))
    CounterApp(journal, chosen, training, settings_of(ctx), opener).run()
