"""How the `steadypos` help reads: flags as flags (Typer's Rich help shows a `<bool>` type
after every flag, which reads as if the flag took a value) and `--version`."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperOption

from steadypos import __version__

_typer_display_type = TyperOption.display_type_rich


def _flag_display_type(self: TyperOption, ctx: Any) -> str | None:
    """No type column for a flag: it takes no value."""
    if self.is_flag and self.metavar is None:
        return None
    return _typer_display_type(self, ctx)


def flags_read_as_flags() -> None:
    """Install the flag display (idempotent; Typer keeps its own type column for the rest)."""
    TyperOption.display_type_rich = _flag_display_type  # type: ignore[method-assign]


def _show_version(value: bool) -> None:
    if value:
        print(f"steadypos {__version__}")
        raise typer.Exit()


VERSION = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                       help="print the version and exit")
