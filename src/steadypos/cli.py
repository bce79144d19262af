"""The one `steadypos` command: each subsystem registers its own commands here."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="steadypos: POS link, acquirer host, terminal, chaos and flash-exit diagnosis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """steadypos: POS link, acquirer host, terminal, chaos and flash-exit diagnosis."""


# Each of these modules has `register(app)`; a subsystem owns its own commands.
_COMMAND_MODULES = (
    "steadypos.protocol.commands",
    "steadypos.protocol.cert_commands",
    "steadypos.host.commands",
    "steadypos.terminal.commands",
    "steadypos.chaos.commands",
    "steadypos.diagnose.commands",
    "steadypos.fleetsim.commands",
    "steadypos.tms.commands",
    "steadypos.demo",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()
