"""`steadypos demo` runs its scripted day and exits 0 only when every expectation held; it ends
with the loop closed: two incidents' remedies checked, their figures printed and dropping."""

import re
import subprocess
import tempfile
from pathlib import Path

from steadypos.host.process import steadypos_argv

CHECKED = re.compile(r"^\s*(\d{8}) (printer jams|an untrained operator): (.+) before "
                     r"([\d.]+) → after ([\d.]+), 3 days each \(improved\)$", re.M)
CHECKED_ZH = re.compile(r"^\s*(\d{8}) \S+：\S+ 之前 ([\d.]+) → 之后 ([\d.]+)，各 3 天（已改善）$",
                        re.M)


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
    # The loop closed: each remedy's figure, before and after over equal windows, dropped.
    checked = {cause: (figure, float(before), float(after))
               for _, cause, figure, before, after in CHECKED.findall(proc.stdout)}
    assert set(checked) == {"printer jams", "an untrained operator"}, proc.stdout[-3000:]
    assert checked["printer jams"][0] == "crashed sessions per day"
    assert checked["an untrained operator"][0] == "flash-exit episodes per day"
    for _, before, after in checked.values():
        assert after < before
    in_chinese = CHECKED_ZH.findall(proc.stdout)
    assert len(in_chinese) == 2 and all(float(a) < float(b) for _, b, a in in_chinese)
