"""CLI: `proxy` (the fault proxy and its control interface) and `chaos` (seeded fault campaigns)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from steadypos.chaos import schedule as schedules
from steadypos.chaos import worker_kills
from steadypos.chaos.broken import BROKEN
from steadypos.chaos.campaign import Campaign, Runner, run_campaign
from steadypos.chaos.proxy import FaultProxy
from steadypos.chaos.sim import RunResult
from steadypos.chaos.toxics import Toxic
from steadypos.host.pg_store import is_pg_url
from steadypos.progress import progress
from steadypos.terminal.flows import Terminal

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
    listen: int = typer.Option(..., "--listen",
                               help=f"TCP port to listen on ({BIND}); 0 picks one"),
    upstream: str = typer.Option(..., "--upstream", help="HOST:PORT of the host"),
    control: int = typer.Option(0, "--control", help=f"HTTP control port ({BIND}); 0 picks one"),
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



def _runner(sim: bool) -> Runner:
    if sim:
        from steadypos.chaos.sim import run
        return run
    from steadypos.chaos.real import run as run_real
    return run_real


def _show_failure(console: Console, result: RunResult) -> None:
    console.print(f"[bold red]violation[/bold red] in seed {result.seed} "
                  f"(replay: steadypos chaos --replay {result.seed}"
                  f"{' --sim' if result.sim else ''})")
    for line in result.schedule.describe():
        console.print(f"  {line}", markup=False)
    for v in result.violations:
        console.print(f"  [red]{v.invariant}[/red]: {v.detail}", highlight=False)
    console.print("  message trace (PANs masked):")
    for line in result.trace[-40:]:
        console.print(f"    {line}", markup=False, highlight=False)


def _summary(console: Console, camp: Campaign, sim: bool) -> None:
    table = Table(title=f"chaos campaign ({'simulation' if sim else 'real processes'})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("schedules", str(camp.runs))
    table.add_row("seconds", f"{camp.seconds:.1f}")
    table.add_row("schedules/minute", f"{camp.per_minute:.0f}")
    for kind, count in sorted(camp.faults.items()):
        table.add_row(f"fault {kind}", str(count))
    table.add_row("violations", str(len(camp.violations)))
    console.print(table)


def _kinds(faults: str | None) -> tuple[str, ...]:
    """The fault kinds asked for (all of them by default, in either mode)."""
    if faults is None:
        return tuple(schedules.FAULTS)
    kinds = tuple(k.strip() for k in faults.split(",") if k.strip())
    unknown = [k for k in kinds if k not in schedules.FAULTS]
    if unknown:
        raise _fail(f"unknown fault kind(s) {', '.join(unknown)}; known: "
                    f"{', '.join(schedules.FAULTS)}", 2)
    return kinds


def chaos(
    runs: int = typer.Option(100, "--runs", min=1, help="number of schedules"),
    seed: int = typer.Option(1, "--seed", help="seed of the first schedule; run i uses seed+i"),
    faults: str = typer.Option(None, "--faults", show_default=False,
                               help="comma-separated fault kinds to draw from (default: all of "
                                    f"{', '.join(schedules.FAULTS)})"),
    json_out: Path = typer.Option(None, "--json",
                                  help="path to write the campaign's figures to (JSON)"),
    replay: int = typer.Option(None, "--replay", help="rerun exactly the schedule of this seed"),
    sim: bool = typer.Option(False, "--sim", help="deterministic simulation in one process "
                             "(else real host, proxy and terminal processes)"),
    terminal: str = typer.Option("steadypos", "--terminal", hidden=True,
                                 help="test only: a deliberately broken terminal"),
    kill_workers: bool = typer.Option(False, "--kill-workers",
                                      help="SIGKILL host workers at random instead (a host of "
                                           "--workers processes on the PostgreSQL of --db)"),
    db: str = typer.Option(None, "--db", help="with --kill-workers: postgresql://... (each "
                           "schedule in a fresh schema of it)"),
    workers: int = typer.Option(2, "--workers", min=1, help="with --kill-workers: host workers"),
) -> None:
    """Run seeded fault schedules against host, terminals and proxy; check the invariants after
    each heals. Exits 0 only when no invariant was violated."""
    console = Console()
    if kill_workers:
        _kill_workers(console, db, workers, seed, runs, json_out)
        return
    kinds = _kinds(faults)
    if terminal != "steadypos" and terminal not in BROKEN:
        raise _fail(f"--terminal must be steadypos or one of {', '.join(BROKEN)}", 2)
    terminal_cls: type[Terminal] = BROKEN.get(terminal, Terminal)
    runner = _runner(sim)
    if replay is not None:
        result = runner(schedules.make(replay, kinds), terminal_cls)
        for line in result.schedule.describe():
            console.print(f"  {line}", markup=False)
        if result.violations:
            _show_failure(console, result)
            raise typer.Exit(1)
        console.print(f"seed {replay}: every invariant held")
        return
    with progress("chaos", runs, "schedules") as meter:
        camp = run_campaign(runner, seed, runs, kinds, terminal_cls,
                            progress=lambda _r: meter.advance())
    for result in camp.failed[:5]:
        _show_failure(console, result)
    _summary(console, camp, sim)
    if json_out is not None:
        json_out.write_text(json.dumps(camp.to_json(), indent=2) + "\n")
    if camp.violations:
        raise typer.Exit(1)


def _kill_workers(console: Console, db: str | None, workers: int, seed: int, runs: int,
                  json_out: Path | None) -> None:
    if db is None or not is_pg_url(db):
        raise _fail("--kill-workers needs --db postgresql://... (several host processes share "
                    "one PostgreSQL)", 2)
    try:
        with progress("chaos", runs, "schedules") as meter:
            camp = worker_kills.campaign(db, workers, seed, runs,
                                         progress=lambda _r: meter.advance())
    except psycopg.Error as exc:
        raise _fail(f"cannot use the database {db}: {str(exc).strip().splitlines()[0]}",
                    2) from None
    figures = camp.to_json()
    for v in figures["violations"][:20]:
        console.print(f"[red]{v['invariant']}[/red] in seed {v['seed']} (replay: steadypos "
                      f"chaos --kill-workers --db {db} --runs 1 --seed {v['seed']}): "
                      f"{v['detail']}", highlight=False)
    table = Table(title=f"chaos: {workers} host workers killed at random")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name in ("schedules", "kills", "sales", "seconds"):
        table.add_row(name, str(figures[name]))
    table.add_row("violations", str(len(figures["violations"])))
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["violations"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
    app.command("chaos")(chaos)
