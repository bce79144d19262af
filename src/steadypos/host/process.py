"""`steadypos host` (or any server that announces itself the same way) as a child process: start
it, wait for its `listening on HOST:PORT` line (one per listener, plain first; a TLS listener's
line ends with ` (tls)`), stop or kill it. For the chaos runs with real processes, the demo, the
benchmarks and the tests; `steadypos_argv` is the one command line of any `steadypos` command."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

READY = b"listening on "
TLS_MARK = " (tls)"  # ends the ready line of a TLS listener: `listening on HOST:PORT (tls)`
LOOPBACK = "127.0.0.1"


class HostStartError(RuntimeError):
    """The host exited or stayed silent instead of printing its ready line."""


def steadypos_argv(*args: str) -> list[str]:
    """The command line that runs `steadypos ARGS` with this interpreter."""
    return [sys.executable, "-m", "steadypos", *args]


def start(argv: Sequence[str], env: Mapping[str, str] | None = None,
          stderr: IO[bytes] | int | None = None,
          timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str, int]:
    """Run the server; return it with the address of its first listener."""
    proc, line = _launch(argv, env, stderr, timeout)
    host, port, _ = parse_ready(line)
    return proc, host, port


def _launch(argv: Sequence[str], env: Mapping[str, str] | None, stderr: IO[bytes] | int | None,
            timeout: float) -> tuple[subprocess.Popen[bytes], bytes]:
    """The running server and its first ready line; killed, HostStartError, if it printed
    none."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=stderr,
                            stdin=subprocess.DEVNULL, env=None if env is None else dict(env))
    line = read_line(proc, timeout)
    try:
        parse_ready(line)
    except HostStartError:
        stop(proc, signal.SIGKILL)
        raise
    return proc, line


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The next line the process prints (b"" if it ends or stays silent for `timeout`), read a
    byte at a time so that nothing after it waits in a buffer that a later read would miss."""
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(proc.stdout.fileno(), 1) if ready else b""
        if not chunk:
            return line
        line += chunk
    return line


def parse_ready(line: bytes) -> tuple[str, int, bool]:
    """(host, port, is TLS) from one ready line."""
    text = line.decode(errors="replace")
    addr, _, port = text[len(READY):].partition(" ")[0].strip().rpartition(":")
    if not line.startswith(READY) or not addr or not port.isdigit():
        raise HostStartError(f"the server did not start: {text!r}")
    return addr, int(port), text.rstrip("\n").endswith(TLS_MARK)


def _end(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Send `sig` unless it has ended, and wait; kill it when it does not end in time."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
         timeout: float = 20.0) -> int:
    """Send `sig` (SIGTERM: answer what is held and exit; SIGKILL: gone), wait, and return the
    exit status; a host that does not end in time is killed."""
    _end(proc, sig, timeout)
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


class HostProcess:
    """`steadypos host --db DB ARGS --port PORT` as a child process. `port` 0 takes a free one
    at the first start and keeps it, so that a restart (after a kill) comes back on the same
    database and port; stderr goes to the file `stderr` (appended) when given."""

    def __init__(self, db: str | Path, args: Sequence[str] = (), port: int = 0,
                 env: Mapping[str, str] | None = None, stderr: Path | None = None,
                 timeout: float = 30.0) -> None:
        self.db = db
        self.args = list(args)
        self.port = port
        self.host = LOOPBACK
        self.env = dict(env) if env is not None else None
        self.stderr_path = stderr
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_line = ""
        self.starts = 0

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, extra: Sequence[str] = ()) -> HostProcess:
        """Start with `extra` options for this start only; HostStartError if it does not."""
        argv = steadypos_argv("host", "--db", str(self.db), *self.args, "--port", str(self.port),
                              *extra)
        if self.stderr_path is None:
            self.proc, line = _launch(argv, self.env, None, self.timeout)
        else:
            with open(self.stderr_path, "ab") as err:
                self.proc, line = _launch(argv, self.env, err, self.timeout)
        self.host, self.port, _ = parse_ready(line)
        self.ready_line = line.decode()
        self.starts += 1
        return self

    def restart(self, extra: Sequence[str] = (), within: float = 10.0) -> HostProcess:
        """Kill if it runs, then start again on the same port (which may take a moment to be
        free again)."""
        self.kill()
        deadline = time.monotonic() + within
        while True:
            try:
                return self.start(extra)
            except HostStartError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def next_line(self, timeout: float = 20.0) -> str:
        """The next line it prints after the ready line (a TLS listener's, say)."""
        assert self.proc is not None
        return read_line(self.proc, timeout).decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> tuple[int, str]:
        """Send `sig` (SIGTERM: answer what is held, exit), wait: (exit status, what it printed
        after its ready line). A host that does not end in time is killed."""
        proc, self.proc = self.proc, None
        if proc is None:
            return 0, ""
        _end(proc, sig, timeout)
        assert proc.stdout is not None
        rest = proc.stdout.read().decode(errors="replace")
        proc.stdout.close()
        return proc.returncode, rest

    def kill(self) -> None:
        """SIGKILL: whatever was not committed is gone."""
        self.stop(signal.SIGKILL)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""
        except FileNotFoundError:
            return ""

    def __enter__(self) -> HostProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
