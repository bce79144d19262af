"""CLI: `steadypos diagnose PATH...` and `steadypos simulate-fleet`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from steadypos.diagnose.engine import diagnose as run_diagnosis
from steadypos.diagnose.reader import InputError, expand_paths, total_bytes
from steadypos.diagnose.report_html import write_html
from steadypos.diagnose.report_json import write_json
from steadypos.diagnose.simulator import open_out, write_fleet
from steadypos.diagnose.summary import print_summary
from steadypos.progress import progress

PROGRESS_MIN_BYTES = 4 << 20  # show a progress bar for inputs over 4 MiB


def _fail(err: Console, message: str) -> typer.Exit:
    err.print(f"error: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def diagnose(
    paths: list[str] = typer.Argument(
        ..., metavar="PATH...", help="event log v1 files, folders of them, .gz, or - for stdin"
    ),
    json_out: str = typer.Option(
        None, "--json", metavar="OUT", help="path to write the JSON report to (- = stdout)"
    ),
    html_out: str = typer.Option(
        None, "--html", metavar="OUT", help="path to write the HTML report to"
    ),
) -> None:
    """Find flash-exit episodes in event logs and diagnose their causes per terminal and fleet."""
    err = Console(stderr=True)
    try:
        sources = expand_paths(paths)
    except InputError as exc:
        raise _fail(err, str(exc)) from None
    if not sources:
        raise _fail(err, "no log files found (looked for " + ", ".join(paths) + ")")
    if sources.count("-") > 1:
        raise _fail(err, "stdin (-) given more than once")
    for target in (json_out, html_out):
        if target and target != "-" and not Path(target).parent.exists():
            raise _fail(err, f"{target}: folder does not exist")
    if html_out == "-":
        raise _fail(err, "--html needs a file name")
    size = total_bytes(sources)
    small = size is not None and size < PROGRESS_MIN_BYTES
    with progress("reading", size, as_bytes=True, quiet=small or json_out == "-",
                  console=err) as meter:
        result = run_diagnosis(sources, meter.update)
    out = err if json_out == "-" else Console()
    print_summary(result, out)
    try:
        if json_out == "-":
            write_json(result, sys.stdout)
        elif json_out:
            with open(json_out, "w", encoding="utf-8") as fh:
                write_json(result, fh)
            out.print(f"JSON written to {json_out}", highlight=False)
        if html_out:
            with open(html_out, "w", encoding="utf-8") as fh:
                write_html(result, fh)
            out.print(f"HTML report written to {html_out}", highlight=False)
    except OSError as exc:
        raise _fail(err, f"cannot write: {exc.strerror or exc}") from None


def simulate_fleet(
    terminals: int = typer.Option(
        ..., "--terminals", min=1, max=100_000, help="number of terminals"
    ),
    days: int = typer.Option(..., "--days", min=1, max=366, help="number of days simulated"),
    seed: int = typer.Option(1, "--seed", help="random seed (same seed, same fleet)"),
    out: str = typer.Option(
        ..., "--out", metavar="EVENTS.jsonl", help="path of the event log to write (.gz: gzipped)"
    ),
    labels: str = typer.Option(
        ..., "--labels", metavar="LABELS.json", help="path to write the ground truth to (JSON)"
    ),
    untidy: bool = typer.Option(
        False, "--messy", help="interleave terminals, drop inventory, add unknown keys/types"
    ),
) -> None:
    """Simulate a fleet's event log v1 with causes from the whole taxonomy, and its ground truth."""
    err = Console(stderr=True)
    for target in (out, labels):
        if not Path(target).parent.exists():
            raise _fail(err, f"{target}: folder does not exist")
    try:
        with open_out(out) as fh, progress("simulating", days, "days") as meter:
            truth = write_fleet(terminals, days, seed, fh, untidy=untidy,
                                progress=meter.update)
        with open(labels, "w", encoding="utf-8") as fh:
            json.dump(truth, fh, indent=1, sort_keys=True)
            fh.write("\n")
    except OSError as exc:
        raise _fail(err, f"cannot write: {exc.strerror or exc}") from None
    faulty = sum(1 for v in truth.values() if v != "none")
    Console(soft_wrap=True).print(
        f"{len(truth)} terminals ({faulty} with a cause) over {days} days -> {out}; "
        f"ground truth -> {labels}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
    app.command("simulate-fleet")(simulate_fleet)
