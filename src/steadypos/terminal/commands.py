"""CLI: `steadypos terminal ...`, the contract through which tests and tools drive a terminal.
The group's options (device faults, crash point, disk fault, broken behaviour, ...) are read here
once into TerminalSettings and passed down; nothing below reads the environment for them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from steadypos import cards
from steadypos.files import removed_on_failure
from steadypos.money import AmountError, parse_yuan
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.mac import DEFAULT_MAC, MacAlgorithm
from steadypos.protocol.tls import TlsError
from steadypos.terminal import (
    activate,
    checks,
    emergency,
    fleet,
    fleet_commands,
    releases,
    transport,
)
from steadypos.terminal.counter import cli as counter_cli
from steadypos.terminal.counter import training as practice
from steadypos.terminal.devices import FAULT_KINDS
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.journal import JOURNAL_SYNC_MODES, JournalError
from steadypos.terminal.lifecycle import TerminalError, keys_path
from steadypos.terminal.observer import CliObserver, Observer, Quiet
from steadypos.terminal.outcome import Exit, Outcome, Result
from steadypos.terminal.screen import show_journal, show_outcome
from steadypos.terminal.settings import SettingsError, TerminalSettings
from steadypos.terminal.steps import STEPS
from steadypos.terminal.texts import Text, text

terminal_app = typer.Typer(help="The payment terminal (journaled, crash-safe).",
                           no_args_is_help=True)
BENCH = "Test bench"  # the help panel of the options that make a terminal misbehave on purpose

# Deliberately broken terminals a higher floor offers (chaos's, passed in by the CLI that
# registers these commands): --behave NAME.
BEHAVIOURS: dict[str, type[Terminal]] = {}


@dataclass(frozen=True)
class Run:
    """What the group's options decided, for the command that follows."""

    settings: TerminalSettings = field(default_factory=TerminalSettings)
    terminal: type[Terminal] = Terminal
    screen: bool = False

    def observer(self, as_json: bool, lang: str) -> Observer:
        if self.screen:
            return CliObserver(Console(stderr=as_json), everything=True, lang=lang)
        return Quiet() if as_json else CliObserver(lang=lang)


@terminal_app.callback()
def _options(
    ctx: typer.Context,
    fault: list[str] = typer.Option(
        [], "--fault", metavar="DEVICE=FAULT", rich_help_panel=BENCH,
        help="a simulated device fails: " + "; ".join(
            f"{d}: {', '.join(f)}" for d, f in FAULT_KINDS.items()) + " (repeatable)"),
    crash_at: str = typer.Option(
        None, "--crash-at", metavar="STEP", rich_help_panel=BENCH,
        help="SIGKILL the terminal right after this journal step is on disk: "
             f"{', '.join(STEPS)} (or its number 1-{len(STEPS)})"),
    disk_fault: str = typer.Option(
        None, "--disk-fault", metavar="KIND:N", rich_help_panel=BENCH,
        help="the Nth journal write from start-up fails: full:N (disk full) or refused:N"),
    journal_sync: str = typer.Option(
        "FULL", "--journal-sync", rich_help_panel=BENCH,
        help=f"the journal's SQLite sync mode ({', '.join(JOURNAL_SYNC_MODES)}); anything but "
             "FULL only to measure what durability costs"),
    behave: str = typer.Option(
        None, "--behave", metavar="NAME", rich_help_panel=BENCH,
        help="run a deliberately broken terminal, to show conformance tooling catches it "
             "(README: broken terminals)"),
    screen: bool = typer.Option(
        False, "--screen", help="print each screen, prompt, progress step, receipt and result "
                                "as the terminal goes (to stderr with --json)"),
) -> None:
    """The payment terminal (journaled, crash-safe)."""
    try:
        settings = TerminalSettings.parse(fault, crash_at, disk_fault, journal_sync)
    except SettingsError as exc:
        _fail_usage(str(exc), False)
    terminal = Terminal
    if behave is not None:
        if behave not in BEHAVIOURS:
            _fail_usage(f"--behave {behave!r}: one of {', '.join(sorted(BEHAVIOURS))}", False)
        terminal = BEHAVIOURS[behave]
    ctx.obj = Run(settings, terminal, screen)


def _decided(ctx: typer.Context) -> Run:
    return ctx.obj if isinstance(ctx.obj, Run) else Run()

JOURNAL = typer.Option(..., "--journal", help="path of the terminal's journal (its SQLite "
                       "state file)")
AS_JSON = typer.Option(False, "--json", help="print one JSON object")
TRAINING = typer.Option(False, "--training", help="training mode: on the journal's training "
                        "copy, header terminal state 1, the host's sandbox: no money moves")
LANG = counter_cli.LANG
STAN = typer.Option(..., "--stan", help="STAN of the original sale (1..999999)")
PIN = typer.Option(None, "--pin", help="the cardholder's PIN, 4 to 12 digits (never stored)")


def _fail_usage(message: str | Text, as_json: bool, lang: str = "en") -> NoReturn:
    """One line (in `lang` on the console, English in the JSON object), exit 2."""
    if as_json:
        print(json.dumps({"result": "failed", "rc": "", "stan": None, "batch": None, "rrn": "",
                          "auth_code": "", "message": str(message), "error": "usage"}))
    else:
        said = message.say(lang) if isinstance(message, Text) else message
        Console(stderr=True, soft_wrap=True).print(f"error: {said}", markup=False,
                                                   highlight=False)
    raise typer.Exit(Exit.USAGE)


def _run(ctx: typer.Context, journal: Path, as_json: bool,
         action: Callable[[Terminal], Outcome], training: bool = False,
         wish: str | None = None) -> None:
    """Open the terminal (which recovers), run one command, report (in the operator's language;
    `--json` keeps English), exit with its status."""
    run = _decided(ctx)
    lang = counter_cli.language(wish)
    opener = practice.open_terminal if training else run.terminal.open
    try:
        # A running release with a fault may crash this session (terminal/releases.py).
        term = checks.open_checked(opener, journal, run.observer(as_json, lang), run.settings,
                                   on_step=releases.fault_hook(journal))
    except TerminalError as exc:
        _fail_usage(exc.what, as_json, lang)
        return
    reason, crash = "normal", None
    try:
        outcome = action(term)
    except (ValueError, ProtocolError) as exc:
        term.close()
        _fail_usage(str(exc), as_json)
        return
    except sqlite3.DatabaseError as exc:  # found damaged on the way: stop, say so
        term.close("crash", exc)
        _fail_usage(checks.damaged(journal, exc), as_json, lang)
    except JournalError as exc:
        pending = bool(term.journal.reversals())
        outcome = Outcome.told(Result.FAILED, text("terminal.result.stopped", why=str(exc)),
                               reversal_pending=pending)
        reason, crash = "crash", exc
    except Exception as exc:
        # A defect: its crash goes in the event log (exception, frames), then it surfaces.
        term.close("crash", exc)
        raise
    term.close(reason, crash)
    fleet.after_command(journal, (lambda s: None) if as_json else print)  # between payments
    if as_json:
        data = outcome.to_json()
        data["recovered"] = term.recovered
        print(json.dumps(data))
    else:
        show_outcome(outcome, lang=lang)
    raise typer.Exit(outcome.exit_code)


@terminal_app.command("init")
def init(
    journal: Path = JOURNAL,
    host: str = typer.Option(..., "--host", help="the host's name or IP address"),
    port: int = typer.Option(..., "--port", help="the host's TCP port (its TLS port with "
                                                   "--tls-*)"),
    tid: str = typer.Option(..., "--tid", help="terminal ID (TID), 8 characters"),
    mid: str = typer.Option(..., "--mid", help="merchant ID (MID), 15 characters"),
    tmk: str = typer.Option(..., "--tmk", help="terminal master key, 32 hex digits"),
    tpdu: str = typer.Option("6000030000", "--tpdu", help="TPDU header, 10 hex digits"),
    timeout: float = typer.Option(30.0, "--timeout", help="seconds to wait for an answer"),
    mac_alg: MacAlgorithm = typer.Option(DEFAULT_MAC.value, "--mac",
                                         help="the MAC algorithm the host registered this "
                                              "terminal with (pos_ecb: legacy, weak)"),
    tls_ca: Path = typer.Option(None, "--tls-ca", help="TLS: path of the CA (PEM) of the host's "
                                  "certificate"),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="TLS: path of this terminal's "
                                  "certificate (PEM, CN = its TID)"),
    tls_key: Path = typer.Option(None, "--tls-key", help="TLS: path of its private key (PEM)"),
    as_json: bool = AS_JSON,
    lang: str | None = LANG,
) -> None:
    """Create the terminal's state file; with --tls-ca/--tls-cert/--tls-key it talks TLS."""
    try:
        key = bytes.fromhex(tmk)
    except ValueError:
        key = b""
    if len(key) != 16:
        _fail_usage("--tmk must be 32 hex digits", as_json)
    if len(tid) != 8 or len(mid) != 15:
        _fail_usage("--tid is 8 characters and --mid 15", as_json)
    if not 0 < port < 65536 or timeout <= 0:
        _fail_usage("--port must be 1..65535 and --timeout positive", as_json)
    tls = _tls(tls_ca, tls_cert, tls_key, tid, as_json)
    problem = None if journal.exists() else checks.init_problem(journal)
    if problem:
        _fail_usage(problem, as_json, counter_cli.language(lang))
    try:
        with removed_on_failure(journal, keys_path(journal)):
            Terminal.init(journal, host, port, tid, mid, key, tpdu, timeout, tls,
                          mac_alg=mac_alg)
    except TerminalError as exc:
        _fail_usage(exc.what, as_json, counter_cli.language(lang))
    except (ProtocolError, OSError, sqlite3.Error) as exc:
        _fail_usage(str(exc), as_json)
    over = " over TLS" if tls else ""
    out = Outcome(Result.DONE, f"terminal {tid} ready at {journal}{over} (MAC {mac_alg.value})")
    print(json.dumps(out.to_json())) if as_json else show_outcome(out)


def _tls(ca: Path | None, cert: Path | None, key: Path | None, tid: str,
         as_json: bool) -> dict[str, str] | None:
    files = (ca, cert, key)
    if all(f is None for f in files):
        return None
    if ca is None or cert is None or key is None:
        _fail_usage("--tls-ca, --tls-cert and --tls-key go together", as_json)
        return None
    try:
        return transport.tls_config(ca, cert, key, tid)
    except TlsError as exc:
        _fail_usage(str(exc), as_json)
        return None


@terminal_app.command("sign-in")
def sign_in(ctx: typer.Context, journal: Path = JOURNAL, as_json: bool = AS_JSON,
            training: bool = TRAINING, lang: str | None = LANG) -> None:
    """Sign in: fetch fresh working keys and the batch number."""
    _run(ctx, journal, as_json, lambda t: t.recover() or t.sign_in(), training, lang)


def _amount(text: str, as_json: bool) -> int:
    try:
        return parse_yuan(text)
    except AmountError as exc:
        _fail_usage(str(exc), as_json)
        raise


def _card_input(track2: str | None, card_file: Path | None, qr: str | None,
                as_json: bool) -> CardInput:
    """What was given; a magstripe card file is swiped (its track 2), a chip card inserted."""
    if card_file is None or track2 is not None or qr is not None:
        return CardInput(track2, card_file, qr)
    try:
        card = cards.load(card_file)
    except cards.CardFileError as exc:
        _fail_usage(str(exc), as_json)
        raise
    if card.kind is cards.CardKind.MAGSTRIPE:
        return CardInput(track2=card.track2)
    return CardInput(card_file=card_file)


@terminal_app.command("sale")
def sale(
    ctx: typer.Context,
    journal: Path = JOURNAL,
    amount: str = typer.Option(..., "--amount", help="amount in yuan, e.g. 12.34"),
    track2: str = typer.Option(None, "--track2", help="magstripe track 2 (PAN=YYMM...), never "
                                "printed"),
    card_file: Path = typer.Option(None, "--card-file", help="path of a card file (JSON, "
                                 "docs/cards.md; `demo-data card` writes one)"),
    qr: str = typer.Option(None, "--qr", help="one-time QR payment code"),
    pin: str = PIN,
    as_json: bool = AS_JSON,
    training: bool = TRAINING,
    lang: str | None = LANG,
) -> None:
    """A sale by swipe, chip or QR code."""
    fen = _amount(amount, as_json)
    card = _card_input(track2, card_file, qr, as_json)
    _run(ctx, journal, as_json, lambda t: t.sale(fen, card, pin), training, lang)


@terminal_app.command("void")
def void(ctx: typer.Context, journal: Path = JOURNAL, stan: int = STAN,
         as_json: bool = AS_JSON, training: bool = TRAINING, lang: str | None = LANG) -> None:
    """Void an approved sale of the open batch."""
    _run(ctx, journal, as_json, lambda t: t.void(stan), training, lang)


@terminal_app.command("refund")
def refund(ctx: typer.Context, journal: Path = JOURNAL, stan: int = STAN,
           amount: str = typer.Option(..., "--amount", help="amount to refund in yuan, "
                                                  "e.g. 5.00"),
           as_json: bool = AS_JSON, training: bool = TRAINING,
           lang: str | None = LANG) -> None:
    """Refund part or all of an approved sale."""
    fen = _amount(amount, as_json)
    _run(ctx, journal, as_json, lambda t: t.refund(stan, fen), training, lang)


@terminal_app.command("balance")
def balance(ctx: typer.Context, journal: Path = JOURNAL,
            track2: str = typer.Option(..., "--track2", help="magstripe track 2, never printed"),
            pin: str = typer.Option(..., "--pin", help="the cardholder's PIN, 4 to 12 digits "
                                    "(never stored)"),
            as_json: bool = AS_JSON, training: bool = TRAINING,
            lang: str | None = LANG) -> None:
    """Balance inquiry."""
    _run(ctx, journal, as_json, lambda t: t.balance(track2, pin), training, lang)


@terminal_app.command("settle")
def settle(ctx: typer.Context, journal: Path = JOURNAL, as_json: bool = AS_JSON,
           training: bool = TRAINING, lang: str | None = LANG) -> None:
    """Settle the batch; upload it when the totals do not agree."""
    _run(ctx, journal, as_json, lambda t: t.settle(), training, lang)


@terminal_app.command("recover")
def recover(ctx: typer.Context, journal: Path = JOURNAL, as_json: bool = AS_JSON,
            training: bool = TRAINING, lang: str | None = LANG) -> None:
    """Send what is pending (reversals, unanswered refunds, a settlement that waits)."""
    _run(ctx, journal, as_json, lambda t: t.recover_now(), training, lang)


@terminal_app.command("journal")
def journal_cmd(journal: Path = JOURNAL, as_json: bool = AS_JSON,
                training: bool = TRAINING, lang: str | None = LANG) -> None:
    """Every transaction: STAN, batch, kind, amount (yuan; fen with --json), state, rc, RRN."""
    chosen = counter_cli.language(lang)
    try:
        term = checks.open_checked(practice.open_terminal if training else Terminal.open,
                                   journal)
    except TerminalError as exc:
        _fail_usage(exc.what, as_json, chosen)
        return
    try:
        rows = [{"stan": f"{t.stan:06d}", "batch": f"{t.batch:06d}", "kind": t.kind,
                 "amount": t.amount, "state": t.state, "rc": t.rc, "rrn": t.rrn,
                 "auth_code": t.auth_code, "pan": t.pan_masked, "refunded": t.refunded,
                 "message": t.message} for t in term.journal.txns()]
    except (sqlite3.DatabaseError, ValueError) as exc:  # it opened; its transactions did not
        _fail_usage(checks.refuse_damaged(term, journal, exc).what, as_json, chosen)
        return
    term.close()
    if as_json:
        print(json.dumps({"transactions": rows}))
    else:
        show_journal(rows)


terminal_app.command("activate")(activate.command)
terminal_app.command("help")(emergency.command)
terminal_app.command("status")(counter_cli.status)
terminal_app.command("reprint")(counter_cli.reprint)
terminal_app.command("ui")(counter_cli.ui)
fleet_commands.register(terminal_app)


def register(app: typer.Typer, behaviours: Mapping[str, type[Terminal]] | None = None) -> None:
    """The terminal's commands; `behaviours` (chaos.broken.BROKEN) are what --behave runs."""
    BEHAVIOURS.update(behaviours or {})
    app.add_typer(terminal_app, name="terminal")
