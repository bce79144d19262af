"""CLI: `steadypos tms serve`, `host-cert` and `create-user`. The web stack is imported inside
each command: every `steadypos` process (a terminal's sale too) loads this module."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

tms_app = typer.Typer(help="Terminal management: onboarding and activation (docs/tms-api-v1.md).",
                      no_args_is_help=True)
DB = typer.Option(..., "--db", help="the host's database: a SQLite path, sqlite:///PATH or "
                                    "postgresql://...")
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


@tms_app.command("serve")
def serve(
    db: str = DB,
    port: int = typer.Option(..., "--port", help="HTTP port; 0 picks a free one"),
    bind: str = typer.Option("127.0.0.1", "--bind", help="address to listen on"),
    link: str = typer.Option("127.0.0.1:5000", "--link",
                             help="the host's HOST:PORT handed to terminals at activation"),
    tls_link: str = typer.Option(None, "--tls-link", help="the host's TLS HOST:PORT"),
    ca_dir: Path = typer.Option(None, "--ca-dir", help="the TMS CA's folder (default: beside a "
                                "SQLite database, DB.tms-ca; ./tms-ca for PostgreSQL)"),
    write_ca_cert: Path = typer.Option(None, "--write-ca-cert", help="path to write the CA "
                                       "certificate to (PEM), for the host's --client-ca"),
    host_keys: Path = typer.Option(None, "--host-keys", help="the host's key file (as `host "
                                   "--keys`); default: beside a SQLite database, DB.keys"),
    log_file: str = typer.Option(None, "--log-file", help="path to write the log to "
                                 "(default: stderr)"),
    bus: str = typer.Option(None, "--bus", help="NATS JetStream URL (nats://127.0.0.1:4222): "
                            "hand heartbeats and log uploads to `tms worker`s"),
    bus_prefix: str = typer.Option("tms", "--bus-prefix", help="names of stream and consumers"),
    smtp: str = typer.Option(None, "--smtp", help="HOST:PORT of the SMTP server that e-mail "
                                                  "hooks send incidents through"),
) -> None:
    """Run the TMS (API under /api/v1, pages under /ui) until SIGINT/SIGTERM."""
    from steadypos import logs
    from steadypos.tms.server import listen

    logs.setup(path=log_file)
    try:  # before anything is created: a bad --bind or a port in use leaves no database or CA
        sock = listen(bind, port)  # (and before the app's imports: a quick refusal)
    except OSError as exc:
        _fail(f"cannot listen on {bind}:{port}: {exc}")
        return
    from sqlalchemy.exc import SQLAlchemyError

    from steadypos.tms.app import create_app, open_context
    from steadypos.tms.server import serve as run
    from steadypos.tms.settings import Settings, parse_link

    try:
        host, link_port = parse_link(link)
        tls_port = parse_link(tls_link)[1] if tls_link else None
        settings = Settings.for_db(db, ca_dir, host_keys=host_keys, link_host=host,
                                   link_port=link_port, tls_port=tls_port,
                                   smtp=parse_link(smtp) if smtp else None)
        ctx = open_context(settings)
    except (ValueError, OSError, SQLAlchemyError) as exc:
        sock.close()
        _fail(f"cannot start the TMS on {db}: {exc}")
        return
    if write_ca_cert is not None:
        ctx.ca.write_cert(write_ca_cert)
    if bus:
        from steadypos.tms.bus import Names, Publisher

        try:
            ctx.bus = Publisher(bus, Names(bus_prefix))
        except Exception as exc:  # noqa: BLE001 - any failure to reach the bus stops the start
            _fail(f"cannot reach the bus at {bus}: {exc}")
    from steadypos.tms.sweeper import start_sweeper

    start_sweeper(ctx)

    def ready(h: str, p: int) -> None:
        print(f"listening on http://{h}:{p}", flush=True)

    run(create_app(ctx), sock, ready)


@tms_app.command("worker")
def worker(
    db: str = DB,
    bus: str = typer.Option("nats://127.0.0.1:4222", "--bus", help="NATS JetStream URL"),
    bus_prefix: str = typer.Option("tms", "--bus-prefix", help="as given to serve"),
    batch: int = typer.Option(200, "--batch", help="heartbeats stored per transaction"),
    ack_wait: float = typer.Option(10.0, "--ack-wait", help="seconds before a message a dead "
                                   "worker held goes to another"),
    log_file: str = typer.Option(None, "--log-file", help="path to write the log to "
                                 "(default: stderr)"),
) -> None:
    """Store and diagnose heartbeats and log uploads from the bus (run several: they share one
    durable consumer) until SIGINT/SIGTERM."""
    import asyncio
    import signal

    from sqlalchemy.exc import SQLAlchemyError

    from steadypos import logs
    from steadypos.tms.app import open_context
    from steadypos.tms.bus import Names, worker_for
    from steadypos.tms.settings import Settings

    logs.setup(path=log_file)
    try:
        ctx = open_context(Settings.for_db(db))
    except (ValueError, OSError, SQLAlchemyError) as exc:
        _fail(f"cannot open {db}: {exc}")
        return
    work = worker_for(ctx, bus, Names(bus_prefix), batch, ack_wait)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, work.stopping.set)
        await work.run(lambda: print(f"worker ready on {bus}", flush=True))

    try:
        asyncio.run(main())
    except OSError as exc:
        _fail(f"cannot reach the bus at {bus}: {exc}")
    print(f"worker stopped; {work.stored} heartbeats stored", flush=True)


@tms_app.command("host-cert")
def host_cert(
    db: str = DB,
    cert: Path = typer.Option(..., "--cert", help="path to write the host's certificate to (PEM)"),
    key: Path = typer.Option(..., "--key", help="path to write its private key to "
                                     "(PEM, mode 0600)"),
    name: list[str] = typer.Option([], "--name", help="a host name or IP for the certificate "
                                   "(127.0.0.1 and localhost are always in)"),
    ca_dir: Path = typer.Option(None, "--ca-dir", help="the TMS CA's folder (as for serve)"),
) -> None:
    """Issue the host's TLS certificate from the TMS's CA (for `steadypos host --tls-cert`)."""
    from steadypos.protocol.certs import CertError, write_all
    from steadypos.tms import db as tms_db
    from steadypos.tms.ca import TmsCa

    if not key.name.endswith(".key"):
        _fail("--key must end in .key (private key files are written with mode 0600)")
    try:
        url = tms_db.DatabaseUrl.parse(db)
        issued = TmsCa.load_or_create(ca_dir or url.default_ca_dir()).issue_host(name)
        write_all({cert: issued.cert_pem, key: issued.key_pem})
    except (ValueError, OSError, CertError) as exc:
        _fail(str(exc))
    print(f"host certificate {cert} and key {key} issued by the TMS CA")


@tms_app.command("create-user")
def create_user(
    db: str = DB,
    username: str = typer.Option(..., "--username", help="the new user's login name"),
    role: str = typer.Option(..., "--role", help="admin, ops or merchant"),
    password_file: Path = typer.Option(..., "--password-file",
                                       help="path of a file whose first line is "
                                       "the password"),
    mid: str = typer.Option(None, "--mid", help="the merchant's MID (role merchant)"),
) -> None:
    """Make a user (the first admin: no default password exists anywhere)."""
    from pydantic import ValidationError
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from steadypos.tms import db as tms_db
    from steadypos.tms.actors import Actor
    from steadypos.tms.errors import TmsError
    from steadypos.tms.models import User
    from steadypos.tms.schemas.users import UserIn
    from steadypos.tms.services import users

    try:
        password = password_file.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        _fail(f"cannot read a password from {password_file}: {exc}")
        return
    try:
        data = UserIn(username=username, password=password, role=role, mid=mid)  # type: ignore[arg-type]
        engine = tms_db.make_engine(tms_db.DatabaseUrl.parse(db))
        tms_db.migrate(engine)
        with tms_db.sessions(engine)() as session:
            user = users.create(session, Actor("cli:create-user", "admin"), data)
            session.commit()
            made = session.scalar(select(User.id).where(User.id == user.id))
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}"
                        for e in exc.errors()))
        return
    except (TmsError, ValueError, SQLAlchemyError) as exc:
        _fail(str(getattr(exc, "detail", exc)))
        return
    print(f"user {username} ({role}) created, id {made}")


def register(app: typer.Typer) -> None:
    app.add_typer(tms_app, name="tms")
