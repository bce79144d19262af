"""The demo's day: its temp folder, embedded host, fault proxy and terminal processes, and the
checks made so far (what the demo's scenes share)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from steadypos.host.embedded import EmbeddedHost
from steadypos.host.process import steadypos_argv
from steadypos.host.secrets import open_keys
from steadypos.host.store import open_store

console = Console()


@dataclass
class Day:
    """The demo's world: temp folder, host, proxy, terminals, and the checks made so far."""

    root: Path
    host: EmbeddedHost
    proxy: Any
    data: dict[str, Any]
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def journal(self, n: int) -> Path:
        return self.root / f"terminal{n}.db"

    def terminal(self, n: int, *args: str,
                 bench: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
        """Run `steadypos terminal [BENCH] ARGS --journal Jn --json` as a real process (`bench`:
        the terminal's test-bench options, e.g. a crash point)."""
        cmd = steadypos_argv("terminal", *bench, *args, "--journal", str(self.journal(n)),
                             "--json")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ),
                              timeout=120)
        try:
            out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        except json.JSONDecodeError:
            out = {"message": proc.stdout.strip()}
        return proc.returncode, out

    def swipe(self, n: int, amount: str, card: dict[str, Any], pin: str | None = None,
              bench: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
        """A magstripe sale with the card's PIN (or the one given) on terminal n."""
        return self.terminal(n, "sale", "--amount", amount, "--track2", card["track2"],
                             "--pin", pin or card["pin"], bench=bench)

    def balance(self, account: str) -> int:
        store = open_store(self.host.db)
        try:
            return store.balance(account)
        finally:
            store.close()

    def card_account(self, pan: str) -> str:
        secrets = open_keys(self.host.keys)
        store = open_store(self.host.db)
        try:
            card = store.card(secrets.pan_ref(pan))
            assert card is not None
            return card.account
        finally:
            store.close()

    def expect(self, what: str, ok: bool) -> bool:
        self.checks.append((what, ok))
        mark = "[green]✓[/green]" if ok else "[bold red]✗[/bold red]"
        console.print(f"   {mark} {what}")
        return ok
