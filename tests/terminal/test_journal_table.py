"""`terminal journal` piped: one line per transaction, every column whole (it was cut at 80)."""

from __future__ import annotations

from rig import CARD, TerminalRig

from steadypos.masking import mask_pan


def test_the_journal_piped_is_one_whole_line_per_transaction(signed: TerminalRig) -> None:
    sale = signed.sale("12.34")
    assert sale.code == 0
    ran = signed.cli("journal", as_json=False, env={"COLUMNS": "80"})
    assert ran.code == 0
    lines = ran.output.splitlines()
    assert lines[0] == "journal" and lines[1].split()[:4] == ["stan", "batch", "kind", "amount"]
    [row] = [line for line in lines[2:] if line.split()[2] == "sale"]
    cells = row.split()
    assert cells[0] == sale.data["stan"] and "12.34" in cells and sale.data["rrn"] in cells
    assert cells[-1] == mask_pan(CARD["pan"]) and "…" not in ran.output
