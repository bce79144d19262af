"""CLI: `steadypos diagnose PATH...`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from steadypos.diagnose.engine import Diagnosis
from steadypos.diagnose.engine import diagnose as run_diagnosis
from steadypos.diagnose.reader import InputError, Source, expand_paths, total_bytes
from steadypos.diagnose.report_html import write_html
from steadypos.diagnose.report_json import write_json
from steadypos.diagnose.summary import print_summary
from steadypos.diagnose.workers import diagnose_parallel

PROGRESS_MIN_BYTES = 4 << 20  # show a progress bar for inputs over 4 MiB


class _PipeConsole(Console):
    """stdout whose reader may stop early (`| head`): rich would exit 1 there; the command
    stops quietly with its own status instead."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def _fail(err: Console, message: str) -> typer.Exit:
    err.print(f"error: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _check_usage(err: Console, paths: list[str], json_out: str | None,
                 html_out: str | None) -> list[Source]:  # fmt: skip
    try:
        sources = expand_paths(paths)
    except InputError as exc:
        raise _fail(err, str(exc)) from None
    if not sources:
        raise _fail(err, "no log files found (looked for " + ", ".join(paths) + ")")
    if sum(1 for s in sources if s.path == "-") > 1:
        raise _fail(err, "stdin (-) given more than once")
    for target in (json_out, html_out):
        if target and target != "-" and not Path(target).parent.exists():
            raise _fail(err, f"{target}: folder does not exist")
    if html_out == "-":
        raise _fail(err, "--html needs a file name")
    return sources


def _run(err: Console, sources: list[Source], workers: int) -> Diagnosis:
    size = total_bytes(sources)
    show = err.is_terminal and (size is None or size >= PROGRESS_MIN_BYTES)
    with Progress(
        TextColumn("reading"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=not show,
    ) as progress:  # fmt: skip
        task = progress.add_task("read", total=size)

        def read(done: int) -> None:
            progress.update(task, completed=done)

        try:
            if workers > 1:
                return diagnose_parallel(sources, workers, read)
            return run_diagnosis(sources, read)
        except InputError as exc:
            raise _fail(err, str(exc)) from None


def _write(err: Console, result: Diagnosis, json_out: str | None, html_out: str | None) -> None:
    """The report files first: a summary cut short by a closed pipe loses none of them."""
    try:
        if json_out and json_out != "-":
            with open(json_out, "w", encoding="utf-8") as fh:
                write_json(result, fh)
        if html_out:
            with open(html_out, "w", encoding="utf-8") as fh:
                write_html(result, fh)
    except OSError as exc:
        raise _fail(err, f"cannot write: {exc.strerror or exc}") from None


def diagnose(
    paths: list[str] = typer.Argument(
        ..., metavar="PATH...", help="event log v1 files, folders of them, .gz, or - for stdin"
    ),
    json_out: str = typer.Option(
        None, "--json", metavar="OUT", help="path to write the JSON report to (- = stdout)"
    ),
    html_out: str = typer.Option(None, "--html", metavar="OUT",
                                help="path to write the HTML report to"),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="processes; the fleet is split by terminal"
    ),
) -> None:
    """Find flash-exit episodes in event logs and diagnose their causes per terminal and fleet.

    A file named here that is not an event log is an error (exit 2, no report); files in a
    folder that are not event logs are skipped, each one reported once."""
    err = Console(stderr=True)
    sources = _check_usage(err, paths, json_out, html_out)
    result = _run(err, sources, workers)
    if not result.stats.sources:
        raise _fail(err, "no event log among " + ", ".join(paths) + _skipped(result))
    _write(err, result, json_out, html_out)
    out = err if json_out == "-" else _PipeConsole()
    try:
        print_summary(result, out)
        for target, what in ((json_out, "JSON"), (html_out, "HTML report")):
            if target and target != "-":
                out.print(f"{what} written to {target}", highlight=False)
        if json_out == "-":
            write_json(result, sys.stdout)
            sys.stdout.flush()
    except BrokenPipeError:
        # the reader (`| head`) has what it wanted: stop quietly, the files are written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _skipped(result: Diagnosis) -> str:
    return "".join(f"; {s}" for s in result.stats.skipped)


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
