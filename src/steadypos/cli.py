"""The one `steadypos` command: each subsystem registers its own commands here, and what a lower
floor's command needs from a higher floor (the host's conformance mode) is passed in from here.

`steadypos NAME ...` imports only the subsystem that registers NAME: all of them together cost
about a second of imports (SQLAlchemy, FastAPI, Textual...) before a command as small as
`steadypos diagnose` could start. `--help` and anything not in the table get them all."""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import TYPE_CHECKING

import typer

from steadypos.cli_help import VERSION, flags_read_as_flags, run

# each subsystem's module and the top-level commands its register() adds, in the help's order
SUBSYSTEMS: dict[str, tuple[str, ...]] = {
    "steadypos.protocol.commands": ("decode",),
    "steadypos.protocol.cert_commands": ("certs",),
    "steadypos.host.commands": ("host", "ledger", "wallet"),
    "steadypos.host.demo_commands": ("demo-data",),
    "steadypos.terminal.commands": ("terminal",),
    "steadypos.chaos.commands": ("proxy", "chaos"),
    "steadypos.diagnose.commands": ("diagnose",),
    "steadypos.fleetsim.commands": ("simulate-fleet",),
    "steadypos.tms.commands": ("tms",),
    "steadypos.demo": ("demo",),
}
OWNER = {name: module for module, names in SUBSYSTEMS.items() for name in names}

if TYPE_CHECKING:  # the modules SUBSYSTEMS names, imported by name only when their command runs
    import steadypos.chaos.commands
    import steadypos.demo
    import steadypos.diagnose.commands
    import steadypos.fleetsim.commands
    import steadypos.host.commands
    import steadypos.host.demo_commands
    import steadypos.protocol.cert_commands
    import steadypos.protocol.commands
    import steadypos.terminal.commands
    import steadypos.tms.commands  # noqa: F401 (ruff reads the block as one name rebound)


def _root(version: bool = VERSION) -> None:
    """steadypos: POS link, acquirer host, terminal, chaos and flash-exit diagnosis."""


def _register(app: typer.Typer, module: str) -> None:
    register = importlib.import_module(module).register
    if module == "steadypos.host.commands":
        from steadypos.chaos import conformance  # the host's conformance mode, a floor up

        register(app, conformance=conformance.mode)
    elif module == "steadypos.terminal.commands":
        from steadypos.chaos.broken import BROKEN  # what `terminal --behave NAME` runs, a floor up

        register(app, behaviours=BROKEN)
    else:
        register(app)


@cache
def build(command: str | None = None) -> typer.Typer:
    """The command tree: of the subsystem that registers `command`, or whole (None)."""
    flags_read_as_flags()
    app = typer.Typer(
        help="steadypos: POS link, acquirer host, terminal, chaos and flash-exit diagnosis.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for module in [OWNER[command]] if command in OWNER else SUBSYSTEMS:
        _register(app, module)
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole tree, for tests and tools that import it
        return build()
    raise AttributeError(name)


def main() -> None:
    args = sys.argv[1:]
    sys.exit(run(build(args[0] if args else None)))
