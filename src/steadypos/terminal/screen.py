"""The operator's screen in a console: results and the journal, with Rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel

from steadypos import i18n
from steadypos.cli_tables import show_table
from steadypos.money import format_fen
from steadypos.terminal.outcome import Outcome

_STYLE = {"approved": "green", "done": "green", "declined": "red", "failed": "yellow",
          "blocked": "bold red"}


def show_outcome(out: Outcome, console: Console | None = None, lang: str = "en") -> None:
    """The result in a panel: its message in `lang`, then the trace numbers."""
    console = console or Console()
    lines = [out.say(lang)]
    if out.stan is not None:
        lines.append(f"STAN {out.stan:06d}  batch {out.batch or 0:06d}")
    if out.rrn:
        lines.append(f"RRN {out.rrn}  auth {out.auth_code}")
    if "balance" in out.extra and out.extra["balance"] is not None:
        lines.append(f"balance RMB {format_fen(out.extra['balance'])}")
    console.print(Panel("\n".join(lines), title=i18n.t(f"terminal.outcome.{out.result}",
                                                       lang).upper(),
                        border_style=_STYLE.get(out.result, "white")))


def show_journal(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    """The journal as a table on a terminal, compact lines when piped (nothing cut)."""
    show_table("journal", ("stan", "batch", "kind", "amount (yuan)", "state", "rc", "rrn",
                           "auth_code", "pan"),
               [(r["stan"], r["batch"], r["kind"], format_fen(r["amount"]), r["state"], r["rc"],
                 r["rrn"], r["auth_code"], r["pan"]) for r in rows],
               console, right=("amount (yuan)",))
