"""CLI: `steadypos simulate-fleet`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from steadypos.fleetsim.writer import open_out, write_fleet
from steadypos.progress import progress


def simulate_fleet(
    terminals: int = typer.Option(
        ..., "--terminals", min=1, max=100_000, help="how many terminals"
    ),
    days: int = typer.Option(..., "--days", min=1, max=366, help="how many days"),
    seed: int = typer.Option(1, "--seed", help="random seed (same seed, same fleet)"),
    out: str = typer.Option(..., "--out", metavar="EVENTS.jsonl",
                            help="path of the event log to write (.gz compresses)"),
    labels: str = typer.Option(..., "--labels", metavar="LABELS.json",
                               help="path of the ground-truth labels to write (JSON)"),
    untidy: bool = typer.Option(
        False, "--messy", help="interleave terminals, drop inventory, add unknown keys/types"
    ),
) -> None:
    """Simulate a fleet's event log v1 with causes from the whole taxonomy, and its ground truth."""
    err = Console(stderr=True)
    for target in (out, labels):
        if not Path(target).parent.exists():
            err.print(f"error: {target}: folder does not exist", highlight=False)
            raise typer.Exit(2)
    try:
        with open_out(out) as fh, progress("simulating", days, "days", console=err) as meter:
            truth = write_fleet(terminals, days, seed, fh, untidy=untidy, progress=meter.update)
        with open(labels, "w", encoding="utf-8") as fh:
            json.dump(truth, fh, indent=1, sort_keys=True)
            fh.write("\n")
    except OSError as exc:
        err.print(f"error: cannot write: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(2) from None
    faulty = sum(1 for v in truth.values() if v != "none")
    # One line, never wrapped: scripts read it.
    print(f"{len(truth)} terminals ({faulty} with a cause) over {days} "
          f"day{'s' if days != 1 else ''} -> {out}; ground truth -> {labels}")


def register(app: typer.Typer) -> None:
    app.command("simulate-fleet")(simulate_fleet)
