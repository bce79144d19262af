"""CLI: `proxy`, the fault proxy between terminals and the host, with its control interface."""

from __future__ import annotations

import asyncio
import json
import signal

import typer

from steadypos.chaos.proxy import FaultProxy
from steadypos.chaos.toxics import Toxic

BIND = "127.0.0.1"


def parse_hostport(text: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets) -> (host, port); ValueError when it is not that."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--upstream must be HOST:PORT with a port in 1..65535, not {text!r}")
    return host, int(port)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def proxy(
    listen: int = typer.Option(..., "--listen", help=f"port to listen on ({BIND}); 0 picks one"),
    upstream: str = typer.Option(..., "--upstream", help="HOST:PORT of the host"),
    control: int = typer.Option(0, "--control", help=f"control port ({BIND}); 0 picks one"),
    seed: int = typer.Option(None, "--seed", help="RNG seed: the same seed replays the faults"),
    toxic: list[str] = typer.Option(
        [], "--toxic", help='a toxic in force from the start, as JSON, e.g. '
        '\'{"kind": "latency", "latency_ms": 200}\'; repeatable'),
) -> None:
    """Run the fault proxy until SIGINT/SIGTERM; switch toxics over the control interface
    (GET/POST/DELETE /toxics, GET /injected, GET /status)."""
    try:
        up = parse_hostport(upstream)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    try:
        toxics = [Toxic.from_dict(json.loads(t)) for t in toxic]
    except ValueError as exc:
        raise _fail(f"--toxic: {exc}", 2) from None
    try:
        fp = FaultProxy(upstream=up, listen=(BIND, listen), seed=seed, control=(BIND, control),
                        toxics=toxics)
    except ValueError as exc:
        raise _fail(f"--toxic: {exc}", 2) from None
    try:
        asyncio.run(_run(fp, upstream))
    except OSError as exc:
        raise _fail(f"cannot listen: {exc}", 1) from None


async def _run(fp: FaultProxy, upstream: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await fp.astart()
    print(f"proxying {BIND}:{fp.port} -> {upstream} (control {BIND}:{fp.control_port})",
          flush=True)
    try:
        await stop.wait()
    finally:
        await fp.astop()


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
