"""CLI: `host`, `demo-data`, `ledger check`, `wallet issue-code`."""

from __future__ import annotations

import asyncio
import json
import secrets as _random
import sqlite3
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import typer
from rich.console import Console
from rich.table import Table

from steadypos import logs
from steadypos.host import app as host_app
from steadypos.host.demo_data import demo_data
from steadypos.host.ledger import check
from steadypos.host.process import TLS_MARK
from steadypos.host.records import QrRow
from steadypos.host.secrets import secrets_path
from steadypos.host.server import HostServer, run_until_signalled
from steadypos.host.service import HostService
from steadypos.host.settings import HostSettings, parse_clock_at
from steadypos.money import format_fen
from steadypos.protocol import tls

ledger_app = typer.Typer(help="The host's double-entry ledger.", no_args_is_help=True)
wallet_app = typer.Typer(help="QR wallets.", no_args_is_help=True)


ServiceFactory = Callable[..., HostService]


class ConformanceMode(Protocol):
    """What `host --conformance-report` runs: the service that provokes and checks, and what
    writes its report. It lives on the chaos floor, so the top-level CLI passes it in."""

    def __call__(self, report: Path, withhold_rate: float, corrupt_mac_rate: float,
                 seed: int) -> tuple[ServiceFactory, Callable[[], None]]: ...


def host(
    ctx: typer.Context,
    db: Path = typer.Option(..., "--db", help="SQLite database file (created if missing)"),
    port: int = typer.Option(None, "--port", help="plain TCP port; 0 picks a free one"),
    bind: str = typer.Option("127.0.0.1", "--bind"),
    tls_port: int = typer.Option(None, "--tls-port", help="TLS port (pos-link-v1.1 §8), with or "
                                 "instead of --port; 0 picks a free one"),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="the host's certificate (PEM)"),
    tls_key: Path = typer.Option(None, "--tls-key", help="its private key (PEM)"),
    client_ca: Path = typer.Option(None, "--client-ca",
                                   help="CA whose terminal certificates the TLS port accepts"),
    seed_demo: bool = typer.Option(False, "--seed-demo", help="load the demo terminals and cards"),
    log_file: str = typer.Option(None, "--log-file", help="write the log here instead of stderr"),
    conformance_report: Path = typer.Option(
        None, "--conformance-report", help="conformance mode: provoke hard cases, check each "
        "terminal's rules, write the report here (JSON, and FILE.txt) on exit and on SIGUSR1"),
    withhold_rate: float = typer.Option(0.0, "--withhold-rate", min=0.0, max=1.0,
                                        help="share of reversible requests processed but not "
                                             "answered (conformance mode)"),
    corrupt_mac_rate: float = typer.Option(0.0, "--corrupt-mac-rate", min=0.0, max=1.0,
                                           help="share of answers sent with a bad MAC "
                                                "(conformance mode)"),
    seed: int = typer.Option(0, "--seed", help="seed of the conformance mode's dice"),
    clock_at: str = typer.Option(None, "--clock-at", envvar=host_app.CLOCK_ENV,
                                 help="testing: start the host's clock at HH:MM:SS today (or an "
                                      "ISO date and time) and let it run on"),
) -> None:
    """Run the acquirer host: pos-link-v1 over TCP and/or TLS until SIGINT/SIGTERM."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    tls_context = _tls_context(err, port, tls_port, tls_cert, tls_key, client_ca)
    settings = _settings(err, clock_at)
    logs.setup(path=log_file)
    service, report = _service(err, ctx.obj, conformance_report, withhold_rate,
                               corrupt_mac_rate, seed)
    try:
        server = host_app.build(db, bind, port, seed_demo, service=service, settings=settings)
    except (OSError, sqlite3.Error) as exc:
        err.print(f"error: cannot open the host database {db}: {exc}", markup=False)
        raise typer.Exit(2) from None

    listeners = [server] if port is not None else []
    if tls_context is not None:
        listeners.append(HostServer(server.writer, bind, tls_port, ssl_context=tls_context))

    def ready(listener: HostServer, h: str, p: int) -> None:
        print(f"listening on {h}:{p}{TLS_MARK if listener.ssl_context else ''}", flush=True)

    try:
        asyncio.run(run_until_signalled(listeners, ready, report))
    except OSError as exc:  # the listening socket: address in use, bad --bind
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    finally:
        server.writer.stop()
        if report is not None:
            report()
            err.print(conformance_report.with_name(conformance_report.name + ".txt")
                      .read_text(), markup=False, end="")


def _settings(err: Console, clock_at: str | None) -> HostSettings:
    if not clock_at:
        return HostSettings()
    try:
        return HostSettings(clock_at=parse_clock_at(clock_at))
    except ValueError:
        err.print(f"error: --clock-at {clock_at!r} is neither HH:MM:SS nor an ISO date and time",
                  markup=False)
        raise typer.Exit(2) from None


def _service(err: Console, mode: ConformanceMode | None, report: Path | None,
             withhold_rate: float, corrupt_mac_rate: float,
             seed: int) -> tuple[ServiceFactory, Callable[[], None] | None]:
    """The plain service, or with --conformance-report the conformance mode's; exits 2 on bad
    options."""
    if report is None:
        if withhold_rate or corrupt_mac_rate:
            err.print("error: --withhold-rate and --corrupt-mac-rate need --conformance-report")
            raise typer.Exit(2)
        return HostService, None
    if withhold_rate + corrupt_mac_rate > 1.0:
        err.print("error: --withhold-rate plus --corrupt-mac-rate must not exceed 1")
        raise typer.Exit(2)
    if mode is None:
        err.print("error: this steadypos has no conformance mode")
        raise typer.Exit(2)
    return mode(report, withhold_rate, corrupt_mac_rate, seed)


def _tls_context(err: Console, port: int | None, tls_port: int | None, cert: Path | None,
                 key: Path | None, client_ca: Path | None) -> ssl.SSLContext | None:
    """The TLS listener's context, or None without --tls-port; exits 2 on bad options."""
    files = (cert, key, client_ca)
    if port is None and tls_port is None:
        err.print("error: give --port, --tls-port or both")
        raise typer.Exit(2)
    if tls_port is None:
        if any(f is not None for f in files):
            err.print("error: --tls-cert, --tls-key and --client-ca need --tls-port")
            raise typer.Exit(2)
        return None
    if cert is None or key is None or client_ca is None:
        err.print("error: --tls-port needs --tls-cert, --tls-key and --client-ca")
        raise typer.Exit(2)
    try:
        return tls.server_context(cert, key, client_ca)
    except tls.TlsError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def demo_data_cmd(
    as_json: bool = typer.Option(False, "--json", help="print as JSON"),
) -> None:
    """Print the deterministic demo data that `host --seed-demo` loads (test keys and cards)."""
    data = demo_data()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console = Console()
    table = Table(title="demo terminals")
    for col in ("tid", "mid"):
        table.add_column(col)
    for t in data["terminals"]:
        table.add_row(t["tid"], t["mid"])
    console.print(table)
    cards = Table(title="demo cards (test PANs; use --json for the full data)")
    for col in ("pan", "kind", "status", "balance"):
        cards.add_column(col)
    from steadypos.masking import mask_pan

    for c in data["cards"]:
        cards.add_row(mask_pan(c["pan"]), c["kind"], c["status"], format_fen(c["balance"]))
    console.print(cards)


@ledger_app.command("check")
def ledger_check(db: Path = typer.Option(..., "--db")) -> None:
    """Verify every posting balances and the grand total is zero; print balances by account."""
    if not db.exists():
        Console(stderr=True).print(f"error: no database at {db}")
        raise typer.Exit(2)
    store = host_app.open_store(db)
    report = check(store)
    store.close()
    console = Console()
    table = Table(title=f"balances ({report.postings} postings)")
    for col in ("account", "kind", "balance (yuan)"):
        table.add_column(col)
    for account, kind, bal in report.balances:
        table.add_row(account, kind, format_fen(bal))
    console.print(table)
    console.print(f"grand total: {report.grand_total} fen")
    for problem in report.problems:
        console.print(f"[red]IMBALANCE[/red] {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("ledger balanced")


@wallet_app.command("issue-code")
def issue_code(
    db: Path = typer.Option(..., "--db"),
    wallet: str = typer.Option(..., "--wallet", help="wallet id, e.g. W001"),
) -> None:
    """Issue a fresh one-time QR payment code for a wallet and print it."""
    # Opening a missing database would create it, and with it a keys file whose random LMK and
    # issuer key a later `host --seed-demo` would then adopt.
    if not db.exists() or not secrets_path(db).exists():
        Console(stderr=True).print(f"error: no host database (with its keys) at {db}")
        raise typer.Exit(2)
    store = host_app.open_store(db)
    secrets = host_app.open_secrets(db)
    account = f"wallet:{wallet}"
    if not any(a == account for a, _, _ in store.account_balances()):
        Console(stderr=True).print(f"error: no wallet {wallet!r}")
        store.close()
        raise typer.Exit(2)
    code = f"28{_random.randbelow(10**16):016d}"
    store.begin()
    store.add_qr(QrRow(secrets.code_ref(code), wallet, False))
    store.commit()
    store.close()
    print(code)


def register(app: typer.Typer, conformance: ConformanceMode | None = None) -> None:
    """The host's commands; `conformance` (chaos.conformance.mode) enables --conformance-report."""
    app.command("host", context_settings={"obj": conformance})(host)
    app.command("demo-data")(demo_data_cmd)
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(wallet_app, name="wallet")
