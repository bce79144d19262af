"""Tables fit their reader: a Rich table on a terminal that folds long cells instead of cutting
them, and a compact plain layout when piped, one line per row with every cell whole."""

from __future__ import annotations

import io

from rich.console import Console

from steadypos.cli_tables import show_table

HEADERS = ("stan", "kind", "amount (yuan)", "pan", "message")
ROWS = [("000001", "sale", "12.34", "622202*********1008", "approved " * 12),
        ("000002", "refund", "2.00", "622202*********1016", "ok")]


def _render(tty: bool, width: int = 80) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=tty, width=width, color_system=None)
    show_table("journal", HEADERS, ROWS, console, right=("amount (yuan)",))
    return buf.getvalue()


def test_piped_is_one_line_per_row_and_nothing_cut() -> None:
    lines = _render(tty=False).splitlines()
    assert lines[0] == "journal"
    assert lines[1].split() == ["stan", "kind", "amount", "(yuan)", "pan", "message"]
    assert len(lines) == 4
    assert ROWS[0][4].strip() in lines[2] and "622202*********1008" in lines[2]
    # amounts right-aligned under their header
    assert lines[2].index("12.34") + 5 == lines[3].index("2.00") + 4 == \
        lines[1].index("amount (yuan)") + len("amount (yuan)")
    assert "…" not in "".join(lines)


def test_a_narrow_terminal_folds_cells_instead_of_cutting() -> None:
    shown = _render(tty=True, width=60)
    assert "…" not in shown
    body = [line.split("│") for line in shown.splitlines() if line.startswith("│")]
    pans = "".join(cells[4].strip() for cells in body)  # the column, its folds in order
    assert pans == "622202*********1008622202*********1016"
