"""`steadypos demo` runs its scripted day and exits 0 only when every expectation held."""

import subprocess
import tempfile
from pathlib import Path

from steadypos.host.process import steadypos_argv


def test_demo_day_holds_every_expectation() -> None:
    proc = subprocess.run(steadypos_argv("demo", "--clean"), capture_output=True, text=True,
                          timeout=600)  # the day, its TMS scenes, a 30-device rollout
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "expectations held" in proc.stdout
    assert "✗" not in proc.stdout
    removed = proc.stdout.split("removed the demo's folder ", 1)[1].split(" ", 1)[0]
    assert removed.startswith(tempfile.gettempdir()) and not Path(removed).exists()
    # The day's own checks printed card numbers masked only.
    for pan in ("6222020000000001008", "6222020000000005009"):
        assert pan not in proc.stdout
