"""Files only their owner may read (pos-link-v1.1 §7, at rest): created mode 0600 whatever the
umask, and tightened to 0600 when they already exist."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

OWNER_ONLY = 0o600
# Files SQLite keeps beside a database; it creates them with the database file's own mode.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(path: str | Path) -> None:
    """Create `path` empty if it is missing; either way leave it mode 0600. The mode is set with
    fchmod after the open, so a umask can neither widen nor narrow it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        os.chmod(path, OWNER_ONLY)
        return
    try:
        os.fchmod(fd, OWNER_ONLY)
    finally:
        os.close(fd)


def open_private(path: str | Path, flags: int) -> int:
    """os.open for writing a file that must be mode 0600 (flags include O_CREAT)."""
    fd = os.open(path, flags, OWNER_ONLY)
    os.fchmod(fd, OWNER_ONLY)
    return fd


def make_private_db(path: str | Path) -> None:
    """A SQLite file and the side files it may already have, all mode 0600. SQLite gives the
    -wal and -shm it creates later the database file's mode, so they follow."""
    make_private(path)
    for suffix in SQLITE_SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", OWNER_ONLY)


@contextlib.contextmanager
def removed_on_failure(*paths: str | Path) -> Iterator[None]:
    """Whatever of `paths` (and their SQLite side files) this block creates is removed again if
    the block fails: an exception, or an exit with a status other than 0. A failed command
    leaves no new file behind."""
    candidates = [Path(f"{p}{suffix}") for p in paths for suffix in ("", *SQLITE_SIDE_FILES)]
    new = [p for p in candidates if not p.exists()]
    try:
        yield
    except BaseException as exc:
        status = getattr(exc, "exit_code", getattr(exc, "code", 1))
        if status not in (0, None):
            for path in new:
                with contextlib.suppress(OSError):
                    path.unlink()
        raise


def write_private_json(path: Path, data: object) -> None:
    """Replace `path` with `data` as JSON, mode 0600, durably: written to a side file, synced,
    then renamed over it (a crash leaves the old file or the new one, never half of one)."""
    tmp = path.with_name(path.name + ".tmp")
    with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
