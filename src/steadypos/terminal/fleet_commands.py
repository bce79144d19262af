"""CLI: `steadypos terminal heartbeat` (once, or every N seconds), `params` (show or edit the
local parameters, as a technician's settings screen does) and `upload-logs`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console

from steadypos.terminal import fleet
from steadypos.terminal.journal import Journal
from steadypos.terminal.outcome import Exit
from steadypos.terminal.tmsclient import TmsCallError

JOURNAL = typer.Option(..., "--journal", help="the terminal's journal (state file)")
AS_JSON = typer.Option(False, "--json", help="print one JSON object")
err = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = Exit.USAGE) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _agent(journal: Path, as_json: bool) -> fleet.Agent:
    if not journal.exists():
        _fail(f"no terminal at {journal}")
    api = fleet.client_for(journal)
    if api is None:
        _fail(f"{journal} was not activated through a TMS (no {fleet.tms_file(journal).name})")
    assert api is not None
    return fleet.Agent(journal, api, say=(lambda s: None) if as_json else err.print)


def heartbeat(journal: Path = JOURNAL,
              every: float = typer.Option(0, "--every", help="seconds between heartbeats; 0: "
                                          "send one and exit"),
              as_json: bool = AS_JSON) -> None:
    """Send a heartbeat (health readings, sessions since the last one) and follow what the TMS
    answers: fetch parameters, install an offered release, upload logs."""
    agent = _agent(journal, as_json)
    while True:
        try:
            answer = agent.heartbeat()
        except TmsCallError as exc:
            if not every:
                _fail(str(exc), 1)
            err.print(f"heartbeat failed: {exc}", markup=False)
        else:
            print(json.dumps(answer) if as_json else f"heartbeat sent; instructions: {answer}",
                  flush=True)
        if not every:
            return
        time.sleep(every)


def params(journal: Path = JOURNAL,
           set_: list[str] = typer.Option([], "--set", help="KEY=VALUE: change a local "
                                          "parameter by hand (host, port, tpdu, timeout_s, ...)"),
           as_json: bool = AS_JSON) -> None:
    """Show the parameters this terminal runs with; --set edits them by hand."""
    if not journal.exists():
        _fail(f"no terminal at {journal}")
    j = Journal(journal)
    try:
        changes = dict(item.split("=", 1) for item in set_ if "=" in item)
        if len(changes) != len(set_):
            _fail("--set takes KEY=VALUE")
        fleet.edit_params(j, changes)
        cfg = j.config()
    except ValueError as exc:
        _fail(str(exc))
        return
    finally:
        j.close()
    shown = {**fleet.local_params(cfg), "params_version": int(cfg.get("params_version", "0"))}
    print(json.dumps(shown) if as_json else "\n".join(f"{k}: {v}" for k, v in shown.items()))


def upload_logs(journal: Path = JOURNAL, as_json: bool = AS_JSON) -> None:
    """Upload the event log (gzip) to the TMS, which diagnoses it."""
    agent = _agent(journal, as_json)
    try:
        answer = agent.upload_logs()
    except (TmsCallError, OSError) as exc:
        _fail(str(exc), 1)
        return
    print(json.dumps(answer) if as_json else f"log uploaded: {answer}")


def register(app: typer.Typer) -> None:
    app.command("heartbeat")(heartbeat)
    app.command("params")(params)
    app.command("upload-logs")(upload_logs)
