"""CLI: `host`, `demo-data`, `ledger check`, `wallet issue-code`."""

from __future__ import annotations

import json
import secrets as _random
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import typer
from rich.console import Console

from steadypos import logs
from steadypos.cli_tables import show_table
from steadypos.files import removed_on_failure
from steadypos.host import app as host_app
from steadypos.host import ops_commands, workers
from steadypos.host.ledger import check
from steadypos.host.metrics import HostMetrics
from steadypos.host.ops import account_names
from steadypos.host.process import TLS_MARK
from steadypos.host.records import QrRow
from steadypos.host.server import HostServer, check_listen, run, run_until_signalled
from steadypos.host.service import HostService
from steadypos.host.settings import HostSettings, default_keys_path, parse_clock_at
from steadypos.host.store import StoreError, StoreUrl, open_store
from steadypos.money import format_fen
from steadypos.protocol import tls

ServiceFactory = Callable[..., HostService]


class ConformanceMode(Protocol):
    """What `host --conformance-report` runs: the service that provokes and checks, and what
    writes its report. It lives on the chaos floor, so the top-level CLI passes it in."""

    def __call__(self, report: Path, withhold_rate: float, corrupt_mac_rate: float,
                 seed: int) -> tuple[ServiceFactory, Callable[[], None]]: ...


host_group = typer.Typer(invoke_without_command=True)
ledger_app = typer.Typer(help="The host's double-entry ledger.", no_args_is_help=True)
wallet_app = typer.Typer(help="QR wallets.", no_args_is_help=True)
DB_HELP = "the host's database: path of its SQLite file, or sqlite:///PATH"
KEYS_HELP = ("path of the host's key file (LMK, issuer key; created if missing); default: "
             "beside a SQLite database, DB.keys")


def _where(err: Console, db: str, keys: Path | None) -> tuple[StoreUrl, Path]:
    """The database URL and the key file; a bad URL, or no key file to use: exit 2."""
    try:
        url = StoreUrl.parse(db)
    except ValueError as exc:
        err.print(f"error: --db: {exc}", markup=False)
        raise typer.Exit(2) from None
    keys = keys or default_keys_path(url)
    if keys is None:
        err.print(f"error: give --keys (the host's key file) for {url}", markup=False)
        raise typer.Exit(2)
    return url, keys


@host_group.callback()
def host(
    ctx: typer.Context,
    db: str = typer.Option(None, "--db", help="the host's database: path of a SQLite file "
                           "(created if missing) or sqlite:///PATH; needed to run the host"),
    keys: Path = typer.Option(None, "--keys", help=KEYS_HELP),
    port: int = typer.Option(None, "--port",
                             help="plain TCP port to listen on; 0 picks a free one"),
    bind: str = typer.Option("127.0.0.1", "--bind", help="address to listen on"),
    worker_count: int = typer.Option(1, "--workers", help="host processes sharing --port, "
                                     "each with its own group commit (PostgreSQL only)"),
    tls_port: int = typer.Option(None, "--tls-port", help="TLS port (pos-link-v1.1 §8), with or "
                                 "instead of --port; 0 picks a free one"),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="path of the host's certificate (PEM)"),
    tls_key: Path = typer.Option(None, "--tls-key", help="path of its private key (PEM)"),
    client_ca: Path = typer.Option(None, "--client-ca",
                                   help="path of the CA (PEM) whose terminal "
                                        "certificates the TLS port accepts"),
    seed_demo: bool = typer.Option(False, "--seed-demo", help="load the demo terminals and cards"),
    log_file: str = typer.Option(None, "--log-file",
                                 help="path to write the log to (default: stderr)"),
    conformance_report: Path = typer.Option(
        None, "--conformance-report", help="conformance mode: provoke hard cases, check each "
        "terminal's rules, write the report here (JSON, and FILE.txt) on exit and on SIGUSR1"),
    withhold_rate: float = typer.Option(0.0, "--withhold-rate",
                                        help="share (0..1) of reversible requests processed "
                                             "but not answered (conformance mode)"),
    corrupt_mac_rate: float = typer.Option(0.0, "--corrupt-mac-rate",
                                           help="share (0..1) of answers sent with a bad "
                                                "MAC (conformance mode)"),
    seed: int = typer.Option(0, "--seed", help="seed of the conformance mode's dice"),
    clock_at: str = typer.Option(None, "--clock-at",
                                 help="testing: start the host's clock at HH:MM:SS today (or an "
                                      "ISO date and time) and let it run on"),
    metrics_port: int = typer.Option(None, "--metrics-port",
                                     help="serve Prometheus metrics on this port at /metrics "
                                          "(0: a free one)"),
) -> None:
    """Run the acquirer host: pos-link-v1 over TCP and/or TLS until SIGINT/SIGTERM; or, with a
    command, look into a host's database (terminals, transactions, batches, cards)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if _check_run_options(err, ctx.invoked_subcommand, db, port, tls_port, metrics_port):
        return  # a command runs instead
    url, keys = _where(err, db, keys)
    tls_context = _tls_context(err, port, tls_port, tls_cert, tls_key, client_ca)
    settings = _settings(err, clock_at)
    _check_listen(err, bind, port, tls_port, metrics_port)
    logs.setup(path=log_file)
    if worker_count != 1:
        if metrics_port is not None:
            err.print("error: --metrics-port counts one process: give --workers 1")
            raise typer.Exit(2)
        _check_workers(err, url, worker_count, port, tls_port, conformance_report)
        _serve_workers(err, url, keys, bind, port, worker_count, seed_demo, settings)
        return
    service, report = _service(err, ctx.obj, conformance_report, withhold_rate,
                               corrupt_mac_rate, seed)
    metrics = HostMetrics() if metrics_port is not None else None
    try:
        # A database it cannot open leaves no keys file (nor anything else) behind.
        files = [p for p in (url.sqlite_path, keys) if p is not None]
        with removed_on_failure(*files):
            server = host_app.build(url, keys, bind, port, seed_demo, service=service,
                                    settings=settings, metrics=metrics)
    except (OSError, StoreError) as exc:
        err.print(f"error: cannot open the host database {url}: {exc}", markup=False)
        raise typer.Exit(2) from None

    scrape = (metrics, metrics_port) if metrics is not None else None
    _serve(err, server, bind, port, tls_port, tls_context, report, conformance_report, scrape)


def _check_run_options(err: Console, command: str | None, db: str | None, port: int | None,
                       tls_port: int | None, metrics_port: int | None) -> bool:
    """True when a command runs instead of the host; exit 2 with one line when the options are
    misplaced (before the command) or the host cannot run (no --db, a port out of range)."""
    if command is not None:
        if db is not None or port is not None or tls_port is not None:
            err.print(f"error: the options go after the command: steadypos host {command} --db ...")
            raise typer.Exit(2)
        return True
    if db is None:
        err.print("error: give --db (the host's database), or a command (see --help)")
        raise typer.Exit(2)
    for name, value in (("--port", port), ("--tls-port", tls_port),
                        ("--metrics-port", metrics_port)):
        if value is not None and not 0 <= value <= 65535:
            err.print(f"error: {name} {value} is not a port: give 1..65535, or 0 for a free one")
            raise typer.Exit(2)
    return False


def _check_listen(err: Console, bind: str, *ports: int | None) -> None:
    """Exit 2 with one line, before anything is written, where a port cannot be listened on."""
    for port in ports:
        if port is None:
            continue
        try:
            check_listen(bind, port)
        except OSError as exc:
            err.print(f"error: cannot listen on {bind}:{port}: {exc}", markup=False)
            raise typer.Exit(2) from None


def _serve(err: Console, server: HostServer, bind: str, port: int | None, tls_port: int,
           tls_context: ssl.SSLContext | None, report: Callable[[], None] | None,
           conformance_report: Path | None,
           scrape: tuple[HostMetrics, int] | None = None) -> None:
    """Listen on the plain and/or TLS port until a signal (and serve the metrics on their port
    once the last listener is up); then stop the writer and, in conformance mode, write and print
    the report."""
    listeners = [server] if port is not None else []
    if tls_context is not None:
        listeners.append(HostServer(server.writer, bind, tls_port, ssl_context=tls_context))

    def ready(listener: HostServer, h: str, p: int) -> None:
        print(f"listening on {h}:{p}{TLS_MARK if listener.ssl_context else ''}", flush=True)
        if scrape is not None and listener is listeners[-1]:
            served = scrape[0].serve(bind, scrape[1])
            print(f"metrics on http://{bind}:{served.server_port}/metrics", flush=True)

    try:
        run(run_until_signalled(listeners, ready, report))
    except OSError as exc:  # the listening socket: address in use, bad --bind
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    finally:
        server.writer.stop()
        if report is not None:
            report()
            assert conformance_report is not None
            err.print(conformance_report.with_name(conformance_report.name + ".txt")
                      .read_text(), markup=False, end="")


def _serve_workers(err: Console, url: StoreUrl, keys: Path, bind: str, port: int,
                   count: int, seed_demo: bool, settings: HostSettings) -> None:
    """Run `count` host processes on one port until a signal."""
    try:
        with removed_on_failure(keys):
            workers.serve(url, keys, bind, port, count, seed_demo, settings,
                          lambda h, p: print(f"listening on {h}:{p}", flush=True))
    except (OSError, StoreError) as exc:
        err.print(f"error: cannot start the host on {url}: {exc}", markup=False)
        raise typer.Exit(2) from None


def _check_workers(err: Console, url: StoreUrl, count: int, port: int | None,
                   tls_port: int | None, report: Path | None) -> None:
    """Several workers need PostgreSQL and one plain port; anything else is exit 2."""
    problem = None
    if count < 1:
        problem = f"--workers {count}: give 1 or more"
    elif url.is_sqlite:
        problem = ("--workers needs a PostgreSQL --db: processes sharing one SQLite file "
                   "wait for each other's commits")
    elif port is None or tls_port is not None or report is not None:
        problem = "--workers serves one plain --port (no --tls-port, no --conformance-report)"
    if problem:
        err.print(f"error: {problem}", markup=False)
        raise typer.Exit(2)


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
    # Ranges checked here, not by Typer: its "<float range> [0.0<=x<=1.0]" column squeezed the
    # whole help of `host` until the longest words were cut.
    if not (0 <= withhold_rate <= 1 and 0 <= corrupt_mac_rate <= 1):
        err.print("error: --withhold-rate and --corrupt-mac-rate are shares from 0 to 1")
        raise typer.Exit(2)
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


@ledger_app.command("check")
def ledger_check(db: str = typer.Option(..., "--db", help=DB_HELP),
                 as_json: bool = typer.Option(False, "--json", help="print JSON (fen)")) -> None:
    """Verify every posting balances and the grand total is zero; print balances by account."""
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        url = StoreUrl.parse(db)
    except ValueError as exc:
        err.print(f"error: --db: {exc}", markup=False)
        raise typer.Exit(2) from None
    if not url.exists():
        err.print(f"error: no database at {url}", markup=False)
        raise typer.Exit(2)
    try:
        store = open_store(url)
        try:
            report = check(store)
            names = account_names(store)
        finally:
            store.close()
    except StoreError as exc:
        err.print(f"error: {url} is not a host database that can be read ({exc}): restore it "
                  "from a backup", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({"ok": report.ok, "postings": report.postings,
                          "grand_total": report.grand_total, "problems": report.problems,
                          "balances": [{"account": a, "name": names.get(a, a), "kind": k,
                                        "balance": b} for a, k, b in report.balances]}, indent=2))
        raise typer.Exit(0 if report.ok else 1)
    console = Console()
    show_table(f"balances ({report.postings} postings)",
               ("account", "id", "kind", "balance (yuan)"),
               [(names.get(a, a), a, k, format_fen(b)) for a, k, b in report.balances],
               console, right=("balance (yuan)",))
    console.print(f"grand total: {report.grand_total} fen")
    for problem in report.problems:
        console.print(f"[red]IMBALANCE[/red] {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("ledger balanced")


@wallet_app.command("issue-code")
def issue_code(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    keys: Path = typer.Option(None, "--keys", help=KEYS_HELP),
    wallet: str = typer.Option(..., "--wallet", help="wallet id, e.g. W001"),
) -> None:
    """Issue a fresh one-time QR payment code for a wallet and print it."""
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    url, keys = _where(err, db, keys)
    # Opening a missing database would create it, and with it a keys file whose random LMK and
    # issuer key a later `host --seed-demo` would then adopt.
    if not url.exists() or not keys.exists():
        err.print(f"error: no host database (with its keys) at {url}", markup=False)
        raise typer.Exit(2)
    try:
        store = open_store(url)
    except StoreError as exc:
        err.print(f"error: cannot open the host database {url}: {exc}", markup=False)
        raise typer.Exit(2) from None
    secrets = host_app.open_secrets(keys)
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


ops_commands.register(host_group)  # once: register() may build more than one tree (cli.build)


def register(app: typer.Typer, conformance: ConformanceMode | None = None) -> None:
    """The host's commands; `conformance` (chaos.conformance.mode) enables --conformance-report."""
    app.add_typer(host_group, name="host", context_settings={"obj": conformance})
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(wallet_app, name="wallet")
