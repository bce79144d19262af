"""`steadypos host` (or any server that announces itself the same way) as a child process: start
it, wait for its `listening on HOST:PORT` line, stop or kill it. For the chaos runs with real
processes, the benchmarks and the tests."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import IO

READY = b"listening on "


class HostStartError(RuntimeError):
    """The host exited or stayed silent instead of printing its ready line."""


def steadypos_argv(*args: str) -> list[str]:
    """The command line that runs `steadypos ARGS` with this interpreter."""
    return [sys.executable, "-m", "steadypos", *args]


def start(argv: Sequence[str], env: dict[str, str] | None = None,
          stderr: IO[bytes] | int | None = None,
          timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str, int]:
    """Run the server; return it with the address it listens on."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=stderr,
                            stdin=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    if not line.startswith(READY):
        stop(proc, signal.SIGKILL)
        raise HostStartError(f"the server did not start: {line.decode(errors='replace')!r}")
    host, _, port = line[len(READY):].decode().strip().rpartition(":")
    return proc, host, int(port)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
         timeout: float = 20.0) -> int:
    """Send `sig` (SIGTERM: answer what is held and exit; SIGKILL: gone), wait, and return the
    exit status; a host that does not end in time is killed."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode
