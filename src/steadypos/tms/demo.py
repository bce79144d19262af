"""The demo's TMS scene (the seed's "apply → verify → ship → activate"): `steadypos tms serve` on
the demo host's database, one merchant from its application to an activated terminal that
trades, and a console login the demo made for the person watching."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from steadypos.host import process
from steadypos.terminal.tmsclient import TmsCallError, TmsClient

SERIAL = "PAX-A920-DEMO-0001"
APPLICATION = {"legal_name": "杭州西湖茶馆有限公司", "licence_no": "91330100799655058B",
               "contact_name": "王芳", "contact_phone": "13912345678",
               "address": "杭州市西湖区北山街 88 号", "settlement_account": "6222021001122334455",
               "terminals_requested": 1}


class DemoDay(Protocol):
    """What the scene needs of the demo's day (steadypos.demo.Day)."""

    root: Path
    host: Any
    data: dict[str, Any]

    def terminal(self, n: int, *args: str, bench: tuple[str, ...] = ()
                 ) -> tuple[int, dict[str, Any]]: ...

    def swipe(self, n: int, amount: str, card: dict[str, Any], pin: str | None = None,
              bench: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]: ...

    def balance(self, account: str) -> int: ...

    def card_account(self, pan: str) -> str: ...

    def expect(self, what: str, ok: bool) -> bool: ...


def start(day: DemoDay) -> tuple[subprocess.Popen[bytes], str, str]:
    """The TMS as its own process, with an admin whose password the demo made up; returns the
    process, its URL and the password."""
    password = secrets.token_urlsafe(12)
    pw_file = day.root / "tms-admin.password"
    pw_file.write_text(password + "\n")
    pw_file.chmod(0o600)
    db = str(day.host.db)
    subprocess.run(process.steadypos_argv("tms", "create-user", "--db", db, "--username",
                                          "admin", "--role", "admin", "--password-file",
                                          str(pw_file)), check=True, capture_output=True)
    proc, _, port = process.start(process.steadypos_argv(
        "tms", "serve", "--db", db, "--port", "0", "--link", f"127.0.0.1:{day.host.port}"))
    return proc, f"http://127.0.0.1:{port}", password


def onboard(day: DemoDay, url: str, password: str, console: Console) -> None:
    """Apply, approve, assign, ship, activate, sign in and trade; each step checked."""
    api = TmsClient(url).login("admin", password)
    n = 4  # the demo's fourth terminal journal
    try:
        app = TmsClient(url).call("POST", "/applications", APPLICATION)
        day.expect(f"application {app['id']} submitted (credit code checked)",
                   app["status"] == "submitted")
        mid = api.call("POST", f"/applications/{app['id']}/approve")["mid"]
        day.expect(f"approved: new merchant {mid}", len(mid) == 15)
        tid = api.call("POST", "/terminals", {"mid": mid, "serial": SERIAL, "brand": "PAX",
                                              "model": "A920", "firmware": "PayDroid 8.1"})["tid"]
        shipped = api.call("POST", f"/terminals/{tid}/ship",
                           {"carrier": "顺丰速运", "tracking_no": "SF1234567890"})
        day.expect(f"terminal {tid} assigned and shipped with a one-time code",
                   shipped["status"] == "shipped")
    except TmsCallError as exc:
        day.expect(f"onboarding call: {exc}", False)
        return
    code, out = day.terminal(n, "activate", "--tms", url, "--serial", SERIAL, "--code",
                             shipped["activation_code"])
    console.print(f"   device: exit {code} — {out.get('message', '')}")
    day.expect("the device activated: TMK under its RSA key, no person saw it", code == 0)
    day.expect("the TMS shows it active",
               api.call("GET", f"/terminals/{tid}")["status"] == "active")
    code, out = day.terminal(n, "sign-in")
    day.expect(f"{tid} signed in at the host", code == 0 and out.get("rc") == "00")
    card = next(c for c in day.data["cards"] if c["kind"] == "magstripe"
                and c["status"] == "active" and c["balance"] >= 10_000)
    before = day.balance(day.card_account(card["pan"]))
    code, out = day.swipe(n, "18.80", card)
    day.expect("its first sale approved", code == 0 and out.get("rc") == "00")
    day.expect("the card moved 18.80 once", day.balance(day.card_account(card["pan"]))
               == before - 1880)
    code, out = day.terminal(n, "settle")
    day.expect("settled: balanced", code == 0 and out.get("balanced") is True)
