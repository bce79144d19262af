"""How the `steadypos` command line reads: flags as flags (Typer's Rich help shows a `<bool>` type
after every flag, which reads as if the flag took a value), `--version`, and a usage error as one
line (Typer draws a boxed panel of several lines)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperOption

try:  # Typer vendors Click from 0.2x on
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older Typer on the real Click
    from click.exceptions import (  # type: ignore[no-redef, assignment]
        ClickException,
        NoArgsIsHelpError,
    )

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


def run(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the command line and return its exit status; a usage error (unknown option, a value of
    the wrong type, a missing one) is one line on stderr and status 2."""
    try:
        status = app(args=args, standalone_mode=False)
    except NoArgsIsHelpError as exc:  # the help was printed: that is the answer
        return exc.exit_code
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        print(f"error: {exc.format_message()}{where}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0
