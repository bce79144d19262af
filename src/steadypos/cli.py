"""The one `steadypos` command: each subsystem registers its own commands here, and what a lower
floor's command needs from a higher floor (the host's conformance mode) is passed in from here."""

from __future__ import annotations

import sys

import typer

from steadypos import demo
from steadypos.chaos import commands as chaos_commands
from steadypos.chaos import conformance
from steadypos.cli_help import VERSION, flags_read_as_flags, run
from steadypos.diagnose import commands as diagnose_commands
from steadypos.fleetsim import commands as fleetsim_commands
from steadypos.host import commands as host_commands
from steadypos.host import demo_commands as host_demo_commands
from steadypos.protocol import cert_commands
from steadypos.protocol import commands as protocol_commands
from steadypos.terminal import commands as terminal_commands
from steadypos.tms import commands as tms_commands

flags_read_as_flags()
app = typer.Typer(
    help="steadypos: POS link, acquirer host, terminal, chaos and flash-exit diagnosis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(version: bool = VERSION) -> None:
    """steadypos: POS link, acquirer host, terminal, chaos and flash-exit diagnosis."""


protocol_commands.register(app)
cert_commands.register(app)
host_commands.register(app, conformance=conformance.mode)
host_demo_commands.register(app)
terminal_commands.register(app)
chaos_commands.register(app)
diagnose_commands.register(app)
fleetsim_commands.register(app)
tms_commands.register(app)
demo.register(app)


def main() -> None:
    sys.exit(run(app))
