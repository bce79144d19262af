"""Tables for people and pipes: a Rich table on a terminal (cells fold, never cut with "…"), and
when piped a compact plain layout, one line per row, columns aligned, nothing cut."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


def show_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
               console: Console | None = None, right: Sequence[str] = ()) -> None:
    """Print rows under headers; columns named in `right` (amounts, counts) align right."""
    console = console or Console()
    if console.is_terminal:
        table = Table(title=title)
        for h in headers:
            table.add_column(h, overflow="fold", justify="right" if h in right else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if h in right else c.ljust(w)
                         for c, w, h in zip(cells, widths, headers, strict=True)).rstrip()

    out = [title, line(headers), *(line(r) for r in rows)]
    console.file.write("\n".join(out) + "\n")
    console.file.flush()
