"""Training mode (练习): the terminal works on a training copy of its journal (`J.training`, with
the live keys, batch and STAN copied in at each start) and sends every message with header
terminal state `1`, so the host runs it in its sandbox. The live journal, its batch, totals and
receipts are never written in training."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from steadypos.protocol.codec import Message
from steadypos.protocol.frame import TERMINAL_STATE_TRAINING, Header
from steadypos.protocol.link import Link
from steadypos.terminal import transport
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import Journal
from steadypos.terminal.keystore import KeyStore
from steadypos.terminal.lifecycle import TerminalError, keys_path
from steadypos.terminal.settings import TerminalSettings
from steadypos.terminal.texts import text

SUFFIX = ".training"
COPIED_COUNTERS = ("batch", "stan")


def journal_of(journal: Path) -> Path:
    """Where a terminal keeps its training transactions."""
    return journal.with_name(journal.name + SUFFIX)


class TrainingLink:
    """The terminal's link with every request marked training (header terminal state 1)."""

    def __init__(self, link: Link) -> None:
        self.link = link

    def send(self, msg: Message) -> None:
        msg.header = Header(TERMINAL_STATE_TRAINING, msg.header.proc)
        self.link.send(msg)

    def receive(self) -> Message:
        return self.link.receive()

    def close(self) -> None:
        self.link.close()


def prepare(journal: Path) -> Path:
    """Make or refresh the training copy of `journal`: its config (marked training), the live
    keys, the open batch, and a STAN counter never behind the live one. The live journal is
    only read."""
    if not journal.exists() or not keys_path(journal).exists():
        raise TerminalError(text("terminal.files.none", journal=str(journal)))
    live = Journal(journal)
    try:
        cfg = live.config()
        counters = {name: live.counter(name, 0) for name in COPIED_COUNTERS}
    finally:
        live.close()
    path = journal_of(journal)
    with closing(Journal(path)) as copy:
        copy.set_config({**cfg, "training": "1"})
        copy.set_counter("batch", counters["batch"] or 1)
        copy.set_counter("stan", max(copy.counter("stan", 0), counters["stan"]))
    keys = KeyStore.load(keys_path(journal))
    keys.path = keys_path(path)
    keys.save()
    return path


def connector(cfg: dict[str, str]) -> Callable[..., Link]:
    inner = transport.connector(cfg)
    return lambda *args, **kw: TrainingLink(inner(*args, **kw))


def open_terminal(journal: Path, observer: Any = None, settings: TerminalSettings | None = None,
                  **kw: Any) -> Terminal:
    """The terminal of `journal`, in training mode."""
    path = prepare(journal)
    with closing(Journal(path)) as copy:
        cfg = copy.config()
    return Terminal.open(path, observer, settings, link_factory=connector(cfg), **kw)
