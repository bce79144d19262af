"""The counter screen in a plain terminal: `steadypos terminal ui` under tmux, driven by keys
alone (no mouse), takes a sale that the host charges once, and quits on its key."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from rig import CARD, TerminalRig

from steadypos.host.process import steadypos_argv

WAIT_S = 30.0
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of its own (its socket in the test's folder), one session."""

    def __init__(self, folder: Path, command: list[str]) -> None:
        self.base = ["tmux", "-S", str(folder / "tmux.sock")]
        subprocess.run([*self.base, "new-session", "-d", "-s", "counter", "-x", "110", "-y",
                        "42", shlex.join(command)], check=True)

    def screen(self) -> str:
        ran = subprocess.run([*self.base, "capture-pane", "-p", "-t", "counter"],
                             capture_output=True, text=True)
        return ran.stdout

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while text not in (shown := self.screen()):
            assert time.monotonic() < deadline, f"no {text!r} on the screen:\n{shown}"
            time.sleep(0.2)
        return shown

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "counter", *(["-l"] if literal else []),
                        *keys], check=True)

    def alive(self) -> bool:
        return subprocess.run([*self.base, "has-session", "-t", "counter"],
                              capture_output=True).returncode == 0

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def test_a_sale_by_keys_alone_in_tmux(signed: TerminalRig, tmp_path: Path) -> None:
    before = signed.host.card_balance(CARD)
    tmux = Tmux(tmp_path, steadypos_argv("terminal", "ui", "--journal", str(signed.journal),
                                         "--lang", "en"))
    try:
        tmux.wait_for("Key in the amount")
        tmux.keys("l")
        tmux.wait_for("Operator number")
        tmux.keys("01", literal=True)
        tmux.keys("Enter")
        tmux.wait_for("operator 01")
        tmux.keys("12.34", literal=True)
        tmux.keys("Enter")
        tmux.wait_for("[S]")
        tmux.keys("s")
        tmux.wait_for("Swipe")
        tmux.keys(CARD["track2"], literal=True)
        tmux.keys("Enter")
        tmux.wait_for("PIN")
        tmux.keys(CARD["pin"], literal=True)
        masked = tmux.wait_for("•" * len(CARD["pin"]))
        assert CARD["pin"] not in masked  # the PIN is masked as it is typed
        tmux.keys("Enter")
        shown = tmux.wait_for("CHARGED ¥12.34")
        assert "sale: APPROVED" in shown and CARD["pan"] not in shown
        tmux.keys("Enter")
        tmux.wait_for("Key in the amount")
        tmux.keys("q")
        deadline = time.monotonic() + WAIT_S
        while tmux.alive():
            assert time.monotonic() < deadline, "the counter did not quit on q"
            time.sleep(0.2)
    finally:
        tmux.kill()
    assert signed.host.card_balance(CARD) == before - 1234
