"""The counter's background heartbeat: every few minutes the terminal tells the TMS its health
and follows what it answers (parameters, a release, a log upload). It runs on the engine's
thread, between two commands, so never during a payment; a TMS that cannot be reached is a line
on the screen, never a crash of the counter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from steadypos.terminal import fleet
from steadypos.terminal.flows import Terminal
from steadypos.terminal.tmsclient import TmsCallError

EVERY_S = 300.0  # the contract's "every few minutes"


def command(journal: Path, api: fleet.Api) -> Callable[[Terminal], tuple[bool, str]]:
    """An engine command sending one heartbeat: (sent, why not)."""

    def beat(_term: Terminal) -> tuple[bool, str]:
        try:
            fleet.Agent(journal, api, say=lambda _: None).heartbeat()
        except (TmsCallError, OSError, KeyError, ValueError) as exc:
            return False, str(exc)
        return True, ""

    return beat
