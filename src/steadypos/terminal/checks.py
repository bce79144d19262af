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

SQLITE_MAGIC = b"SQLite format 3\x00"
CONFIG_KEYS = frozenset({"host", "port", "tid", "mid", "tpdu", "timeout"})
KEY_FIELDS = ("tmk", "storage")


def damaged(journal: Path, why: object) -> str:
    return (f"the journal {journal} is damaged ({why}): nothing was done; restore it from a "
            f"backup and keep the damaged file for support (init never overwrites it)")


def journal_problem(journal: Path) -> str | None:
    """What is wrong with an existing terminal's files, or None (a missing journal is the
    engine's "run init")."""
    if not journal.exists():
        return None
    keys = keys_path(journal)
    if not keys.exists():
        return (f"the key store {keys} is missing, so the terminal's keys are gone: restore it "
                f"from a backup; without one, call support before you move {journal} aside and "
                f"run `steadypos terminal init` (pending reversals are in it)")
    with journal.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        return damaged(journal, "not an SQLite file" if head else "empty")
    try:
        data = json.loads(keys.read_text())
    except (OSError, ValueError) as exc:
        return f"the key store {keys} is damaged ({exc}): nothing was done; restore it"
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in KEY_FIELDS):
        return f"the key store {keys} is damaged (fields missing): nothing was done; restore it"
    return None


def init_problem(journal: Path) -> str | None:
    """Why a terminal cannot be created at `journal`, or None."""
    folder = journal.parent if str(journal.parent) else Path(".")
    if not folder.is_dir():
        return f"the folder {folder} does not exist: create it first, or give another --journal"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable: give another --journal"
    if keys_path(journal).exists():
        return (f"{keys_path(journal)} already exists: it belongs to another terminal; move it "
                f"away or give another --journal")
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
        raise TerminalError(damaged(journal, f"no {', '.join(sorted(missing))} in its config"))
    return term
