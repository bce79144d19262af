"""`steadypos host` (or any server that announces itself the same way) as a child process: start
it, wait for its `listening on HOST:PORT` line (one per listener, plain first; a TLS listener's
line ends with ` (tls)`), stop or kill it. For the chaos runs with real
processes, the benchmarks and the tests."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import IO

READY = b"listening on "
TLS_MARK = " (tls)"  # ends the ready line of a TLS listener: `listening on HOST:PORT (tls)`


class HostStartError(RuntimeError):
    """The host exited or stayed silent instead of printing its ready line."""


def steadypos_argv(*args: str) -> list[str]:
    """The command line that runs `steadypos ARGS` with this interpreter."""
    return [sys.executable, "-m", "steadypos", *args]


def start(argv: Sequence[str], env: dict[str, str] | None = None,
          stderr: IO[bytes] | int | None = None,
          timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str, int]:
    """Run the server; return it with the address of its first listener."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=stderr,
                            stdin=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    try:
        host, port, _ = parse_ready(line)
    except HostStartError:
        stop(proc, signal.SIGKILL)
        raise
    return proc, host, port


def parse_ready(line: bytes) -> tuple[str, int, bool]:
    """(host, port, is TLS) from one ready line."""
    text = line.decode(errors="replace")
    addr, _, port = text[len(READY):].partition(" ")[0].strip().rpartition(":")
    if not line.startswith(READY) or not addr or not port.isdigit():
        raise HostStartError(f"the server did not start: {text!r}")
    return addr, int(port), text.rstrip("\n").endswith(TLS_MARK)


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
