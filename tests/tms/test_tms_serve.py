"""`steadypos tms serve` that cannot listen (a port in use, a --bind that does not resolve)
says so in one line and exits 2 before it creates its database or its CA."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from steadypos.host.process import steadypos_argv


def test_a_tms_that_cannot_listen_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for args in (["--port", str(port)], ["--port", "0", "--bind", "no-such-host.invalid"]):
            run = subprocess.run(steadypos_argv("tms", "serve", "--db", str(tmp_path / "t.db"),
                                                *args), capture_output=True, text=True,
                                 timeout=60)
            assert run.returncode == 2 and run.stdout == "", run.stderr
            assert run.stderr.startswith("error: cannot listen on "), run.stderr
            assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1, run.stderr
            assert list(tmp_path.iterdir()) == [], args
