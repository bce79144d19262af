"""Before a terminal command touches anything: its journal and key store are there and are ours.
Each problem is one line that says what is wrong and what to do (a TerminalError, exit 2), and
nothing is created or changed."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steadypos.files import removed_on_failure
from steadypos.terminal.devices import UsageError
from steadypos.terminal.events import events_path
from steadypos.terminal.flows import Terminal
from steadypos.terminal.lifecycle import TerminalError, keys_path
from steadypos.terminal.texts import Text, text

SQLITE_MAGIC = b"SQLite format 3\x00"
CONFIG_KEYS = frozenset({"host", "port", "tid", "mid", "tpdu", "timeout"})
KEY_FIELDS = ("tmk", "storage")


def one_line(why: object) -> str:
    """A driver's message on one line: a damaged file's own bytes (a schema's text, say) may
    carry newlines into it."""
    return " ".join(str(why).split())


def damaged(journal: Path, why: object) -> Text:
    return text("terminal.files.damaged", journal=str(journal),
                why=why if isinstance(why, Text) else one_line(why))


def journal_problem(journal: Path) -> Text | None:
    """What is wrong with an existing terminal's files, or None (a missing journal is the
    engine's "run init")."""
    if not journal.exists():
        return None
    keys = keys_path(journal)
    if not keys.exists():
        return text("terminal.files.keys_missing", keys=str(keys), journal=str(journal))
    with journal.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        return damaged(journal, text("terminal.files.not_sqlite" if head
                                     else "terminal.files.empty"))
    try:
        data = json.loads(keys.read_text())
    except (OSError, ValueError) as exc:
        return text("terminal.files.keys_damaged", keys=str(keys), why=one_line(exc))
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in KEY_FIELDS):
        return text("terminal.files.keys_damaged", keys=str(keys),
                    why=text("terminal.files.fields_missing"))
    return None


def init_problem(journal: Path) -> Text | None:
    """Why a terminal cannot be created at `journal`, or None."""
    folder = journal.parent if str(journal.parent) else Path(".")
    if not folder.is_dir():
        return text("terminal.files.no_folder", folder=str(folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        return text("terminal.files.not_writable", folder=str(folder))
    if keys_path(journal).exists():
        return text("terminal.files.keys_taken", keys=str(keys_path(journal)))
    return None


def open_checked(opener: Callable[..., Terminal], journal: Path, *args: Any,
                 **kw: Any) -> Terminal:
    """`opener(journal, ...)` after the checks; a journal SQLite cannot read, or a fault switch
    that does not exist, is a TerminalError like any other."""
    problem = journal_problem(journal)
    if problem:
        raise TerminalError(problem)
    with removed_on_failure(journal, events_path(journal)):
        return _open(opener, journal, *args, **kw)


def _open(opener: Callable[..., Terminal], journal: Path, *args: Any, **kw: Any) -> Terminal:
    try:
        term = opener(journal, *args, **kw)
    except sqlite3.DatabaseError as exc:
        raise TerminalError(damaged(journal, exc)) from None
    except UsageError as exc:
        raise TerminalError(str(exc)) from None
    except (KeyError, ValueError) as exc:  # a key store or config that is not ours
        raise TerminalError(damaged(journal, exc)) from None
    missing = CONFIG_KEYS - term.cfg.keys()
    if missing:
        term.close()
        raise TerminalError(damaged(journal, text("terminal.files.no_config",
                                                  names=", ".join(sorted(missing)))))
    return term


def refuse_damaged(term: Terminal, journal: Path,
                   exc: sqlite3.DatabaseError | ValueError) -> TerminalError:
    """A journal that opened but whose pages were found damaged while a read-only command read
    it: closed (SQLite checkpoints and removes its side files itself; what is left belongs to
    another connection, so nothing is deleted here), and the one-line error to give."""
    term.close("crash", exc)
    return TerminalError(damaged(journal, exc))
