"""CLI: `steadypos diagnose PATH...`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from steadypos.diagnose.engine import diagnose as run_diagnosis
from steadypos.diagnose.reader import InputError, expand_paths, total_bytes
from steadypos.diagnose.report_html import write_html
from steadypos.diagnose.report_json import write_json
from steadypos.diagnose.summary import print_summary

PROGRESS_MIN_BYTES = 4 << 20  # show a progress bar for inputs over 4 MiB


def _fail(err: Console, message: str) -> typer.Exit:
    err.print(f"error: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def diagnose(
    paths: list[str] = typer.Argument(
        ..., metavar="PATH...", help="event log v1 files, folders of them, .gz, or - for stdin"
    ),
    json_out: str = typer.Option(
        None, "--json", metavar="OUT", help="write the JSON here (- = stdout)"
    ),
    html_out: str = typer.Option(None, "--html", metavar="OUT", help="write the HTML report here"),
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
    show = err.is_terminal and (size is None or size >= PROGRESS_MIN_BYTES)
    with Progress(
        TextColumn("reading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not show,
    ) as progress:
        task = progress.add_task("read", total=size)
        result = run_diagnosis(sources, lambda done: progress.update(task, completed=done))
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


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
