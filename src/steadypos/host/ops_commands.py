"""CLI: `steadypos host terminals|txn|batch|card unlock|audit`, the operator's view of a host
database, each with --json; bad input is one line and exit 2 (host/ops.py holds the queries)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from steadypos.cli_tables import show_table
from steadypos.files import removed_on_failure
from steadypos.host import ops
from steadypos.host.store import Store, StoreError, StoreUrl, open_store
from steadypos.money import format_fen

T = TypeVar("T")
DB = typer.Option(..., "--db", help="the host's database: path of its SQLite file, "
                  "sqlite:///PATH or postgresql://...")
TID = typer.Option(..., "--tid", help="terminal ID (TID), 8 characters")
AS_JSON = typer.Option(False, "--json", help="print JSON instead of a table")
card_app = typer.Typer(help="Cards of the host (by the last 4 digits: never a full PAN).",
                       no_args_is_help=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _query(db: str, run: Callable[[Store], T]) -> T:
    """Run one query on the host database; a missing database or bad input: one line, exit 2."""
    try:
        url = StoreUrl.parse(db)
    except ValueError as exc:
        err.print(f"error: --db: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not url.exists():  # opening a missing file would create an empty host
        err.print(f"error: no host database at {url}", markup=False)
        raise typer.Exit(2)
    try:
        # SQLite's side files of a database it could not read go again.
        with removed_on_failure(*([url.sqlite_path] if url.sqlite_path else [])):
            store = open_store(url)
    except StoreError as exc:
        _damaged(url, exc)
    try:
        return run(store)
    except ops.OpsError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except StoreError as exc:  # damaged beyond its first page
        _damaged(url, exc)
    finally:
        store.close()


def _damaged(url: StoreUrl, exc: StoreError) -> NoReturn:
    if url.is_sqlite:
        err.print(f"error: {url} is not a host database SQLite can read ({exc}): nothing was "
                  "done; restore it from a backup", markup=False)
    else:
        err.print(f"error: cannot use the host database {url}: {exc}", markup=False)
    raise typer.Exit(2) from None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""  # refused by unlock_card: the operator must then say who they are


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def terminals(db: str = DB, as_json: bool = AS_JSON) -> None:
    """The host's terminals: MID, MAC algorithm, signed in, open batch, last request."""
    views = _query(db, ops.terminals)
    if as_json:
        _print_json({"terminals": [ops.as_json(v) for v in views]})
        return
    show_table("terminals", ("tid", "mid", "mac", "status", "signed in", "open batch",
                             "last request (UTC)"),
               [(v.tid, v.mid, v.mac, v.status, "yes" if v.signed_in else "no",
                 f"{v.open_batch:06d}", v.last_request or "never") for v in views])


def txn(db: str = DB, tid: str = TID,
        stan: int = typer.Option(None, "--stan", help="STAN, 1..999999"),
        rrn: str = typer.Option(None, "--rrn", help="retrieval reference number, 12 digits"),
        day: str = typer.Option(None, "--date", help="day the host kept it, YYYY-MM-DD (UTC)"),
        last: int = typer.Option(50, "--last", help="show only the newest N that match"),
        as_json: bool = AS_JSON) -> None:
    """A terminal's transactions by STAN, RRN or day: masked card, yuan, code, state, reversal."""
    views = _query(db, lambda s: ops.find_txns(s, tid, stan, rrn, day, last))
    if as_json:
        _print_json({"transactions": [ops.as_json(v) for v in views]})
        return
    show_table(f"transactions of {tid.upper()}",
               ("batch", "stan", "mti", "kind", "amount (yuan)", "card", "rc", "state",
                "reversal", "refunded (yuan)", "rrn", "auth", "at (UTC)"),
               [(f"{v.batch:06d}", f"{v.stan:06d}", v.mti, v.kind, format_fen(v.amount),
                 v.payer, v.rc or "-", v.state, v.reversal or "-", format_fen(v.refunded),
                 v.rrn or "-", v.auth_code or "-", v.at) for v in views],
               right=("amount (yuan)", "refunded (yuan)"))
    if not views:
        print("no transaction matches")
    elif len(views) == last:
        print(f"the newest {last} shown: --last N for more, --stan/--rrn/--date to narrow")


def batch(db: str = DB, tid: str = TID,
          number: int = typer.Option(None, "--batch", help="batch number (default: the open "
                                     "batch)"),
          as_json: bool = AS_JSON) -> None:
    """A batch's totals as settlement counts them, and whether it is settled or open."""
    view = _query(db, lambda s: ops.batch(s, tid, number))
    if as_json:
        _print_json(ops.as_json(view))
        return
    state = view.state.value + (f" ({view.settlement})" if view.settlement else "")
    show_table(f"batch {view.batch:06d} of {view.tid}: {state}",
               ("", "count", "amount (yuan)"),
               [("sales", str(view.sales), format_fen(view.sales_amount)),
                ("refunds", str(view.refunds), format_fen(view.refunds_amount)),
                ("net", "", format_fen(view.net)),
                ("voided", str(view.voided), ""), ("reversed", str(view.reversed), ""),
                ("declined", str(view.declined), "")],
               right=("count", "amount (yuan)"))


@card_app.command("unlock")
def unlock(db: str = DB,
           last4: str = typer.Option(..., "--pan-last4", help="last 4 digits of the card's PAN"),
           tid: str = typer.Option(..., "--tid", help="a terminal (TID) where the card was used"),
           reason: str = typer.Option(..., "--reason", help="why, for the audit trail (e.g. the "
                                      "ticket number)"),
           operator: str = typer.Option(None, "--operator", help="who unlocks, for the audit "
                                        "trail (default: the OS user)"),
           expiry: str = typer.Option(None, "--expiry", help="the card's expiry, YYMM, when "
                                      "two cards end alike"),
           as_json: bool = AS_JSON) -> None:
    """Unlock a card locked after three wrong PINs (75); audited (`host audit`)."""
    who = operator if operator is not None else _os_user()
    done = _query(db, lambda s: ops.unlock_card(s, tid, last4, who, reason, expiry))
    if as_json:
        _print_json(ops.as_json(done))
        return
    print(f"card {done.card} unlocked (was {done.status_before}, {done.tries_before} wrong "
          f"PIN(s)); recorded in the audit trail")


def audit(db: str = DB, as_json: bool = AS_JSON) -> None:
    """The operators' actions on this host (card unlocks): when, who, what, why."""
    entries = _query(db, lambda s: s.audit_entries())
    keys = ("at", "operator", "action", "subject", "detail")
    if as_json:
        _print_json({"audit": [dict(zip(keys, e, strict=True)) for e in entries]})
        return
    show_table("audit trail", ("at (UTC)", *keys[1:]), entries)


def register(host: typer.Typer) -> None:
    host.command("terminals")(terminals)
    host.command("txn")(txn)
    host.command("batch")(batch)
    host.command("audit")(audit)
    host.add_typer(card_app, name="card")
