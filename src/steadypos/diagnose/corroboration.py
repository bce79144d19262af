"""What an episode needs beside it in its terminal's log to count in full: the document names
several signs for an unstable network and for a printer fault, and an episode whose one sign
stands alone (a lone timeout, a flow that stopped at the receipt screen with no printer fault
read) counts half towards its family."""

from __future__ import annotations

from steadypos.diagnose.episodes import Episode
from steadypos.diagnose.records import Tallies
from steadypos.eventlog import PRINTER_FAULTS

ALONE_WEIGHT = 0.5  # an episode whose sign the rest of the log does not back
MIN_WEAK = 2  # signal readings under the document's -100 dBm that show a weak link


def link_shown(n: Tallies) -> bool:
    """The log shows an unstable link beside the timeouts: the network went down, reset or
    failed to connect, a connection failed, or the signal was weak (under -100 dBm)."""
    return n.net_trouble > 0 or n.conn_fails > 0 or n.weak >= MIN_WEAK


def printer_fault_read(ep: Episode) -> bool:
    """A printer jam/head_fault was read during the flow or just before it."""
    return ep.printer in PRINTER_FAULTS or ep.around.printer in PRINTER_FAULTS
