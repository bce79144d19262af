"""`steadypos` child processes for the tests: their environment, a host on a database file (the
project's own host.process.HostProcess), and `ledger check` over that file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from steadypos.host.process import HostProcess, steadypos_argv

RUN_TIMEOUT = 60.0
# The project's switches (kill points, device and disk faults, journal sync, the host's clock):
# none of this test process's leaks into a child; a test passes the ones it means.
SWITCHES = "STEADYPOS_"


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: unbuffered, wide enough that rich never wraps, and no kill
    point, device fault or journal sync mode unless asked for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SWITCHES)}
    env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
    env.update(extra)
    return env


def host_process(db: Path | str, seed_demo: bool = True, log_file: Path | None = None,
                 extra: tuple[str, ...] = (), keys: Path | None = None) -> HostProcess:
    """`steadypos host` on `db` (not started); its stderr beside the database file, or beside
    `keys` (the key file a PostgreSQL URL needs named)."""
    args = [*extra]
    if keys is not None:
        args += ["--keys", str(keys)]
    beside = Path(db) if keys is None else keys
    if seed_demo:
        args.append("--seed-demo")
    if log_file is not None:
        args += ["--log-file", str(log_file)]
    return HostProcess(db, args, env=child_env(),
                       stderr=beside.with_name(beside.name + ".stderr.txt"))


def ledger_check(db: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(steadypos_argv("ledger", "check", "--db", str(db)),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, env=child_env())
