"""`steadypos demo`: a scripted trading day on an embedded host with real terminal processes,
faults included, one of them over TLS; it checks every expectation on money and exits non-zero
if one fails."""

from __future__ import annotations

import json
import signal
import ssl
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.table import Table

from steadypos.demo_day import Day, console
from steadypos.host.demo_data import demo_data
from steadypos.host.embedded import EmbeddedHost
from steadypos.host.ledger import check, merchant_account
from steadypos.host.store import open_store
from steadypos.masking import mask_pan
from steadypos.money import format_fen
from steadypos.protocol import certs, tls
from steadypos.protocol.link import Connection, LinkError


def _scene(title: str) -> None:
    console.rule(f"[bold]{title}")


def _show(code: int, out: dict) -> None:
    bits = [f"exit {code}", str(out.get("result", "?"))]
    if out.get("rc"):
        bits.append(f"rc {out['rc']}")
    if out.get("stan"):
        bits.append(f"STAN {out['stan']}")
    console.print(f"   terminal: {' · '.join(bits)} — {out.get('message', '')}")
    for line in out.get("recovered", []):
        console.print(f"   [yellow]on start-up: {line}[/yellow]")


def _charged(day: Day, pan: str, before: int, fen: int, what: str) -> bool:
    return day.expect(f"{what}: card {mask_pan(pan)} moved {format_fen(-fen)}",
                      day.balance(day.card_account(pan)) == before - fen)


@dataclass(frozen=True)
class DemoCards:
    """The demo data's cards each scene of the day uses."""

    rich: dict
    other: dict
    low: dict
    chip: dict
    chip_file: Path


def _cards(day: Day) -> DemoCards:
    d = day.data
    cards = [c for c in d["cards"] if c["kind"] == "magstripe" and c["status"] == "active"]
    chip = next(c for c in d["cards"] if c["kind"] == "chip")
    chip_file = day.root / "chip-card.json"
    chip_file.write_text(json.dumps({k: chip[k] for k in ("pan", "expiry", "psn", "icc_mk")}))
    low = next(c for c in cards if c["balance"] < 1000)
    return DemoCards(rich=cards[0], other=cards[1], low=low, chip=chip, chip_file=chip_file)


def _opening(day: Day) -> None:
    _scene("Opening: two terminals sign in (T1 direct, T3 through the fault proxy)")
    t1, t2 = day.data["terminals"][0], day.data["terminals"][2]
    for n, t, port in ((1, t1, day.host.port), (2, t2, day.proxy.port)):
        day.terminal(n, "init", "--host", "127.0.0.1", "--port", str(port), "--tid", t["tid"],
                     "--mid", t["mid"], "--tmk", t["tmk"], "--timeout", "2")
        code, out = day.terminal(n, "sign-in")
        _show(code, out)
        day.expect(f"{t['tid']} signed in", code == 0 and out.get("rc") == "00")


def _sales(day: Day, cards: DemoCards) -> tuple[int, int]:
    """Magstripe, chip and QR sales; the STANs of the first two, for the void and the refund."""
    acct = day.card_account
    _scene("Magstripe sale with PIN: 88.00")
    before = day.balance(acct(cards.rich["pan"]))
    code, out = day.swipe(1, "88.00", cards.rich)
    _show(code, out)
    magstripe_stan = int(out.get("stan") or 0)
    day.expect("approved", code == 0 and out.get("rc") == "00")
    _charged(day, cards.rich["pan"], before, 8800, "charged once")

    _scene("Chip sale: the card computes an ARQC, the issuer answers an ARPC")
    before = day.balance(acct(cards.chip["pan"]))
    code, out = day.terminal(2, "sale", "--amount", "120.00", "--card-file", str(cards.chip_file),
                             "--pin", cards.chip["pin"])
    _show(code, out)
    chip_stan = int(out.get("stan") or 0)
    day.expect("approved", code == 0)
    _charged(day, cards.chip["pan"], before, 12000, "charged once")

    _scene("QR sale: a one-time code pays once")
    qr = day.data["qr_codes"][0]
    wallet = f"wallet:{qr['wallet']}"
    before_w = day.balance(wallet)
    code, out = day.terminal(1, "sale", "--amount", "25.00", "--qr", qr["code"])
    _show(code, out)
    day.expect("approved", code == 0)
    code, out = day.terminal(1, "sale", "--amount", "25.00", "--qr", qr["code"])
    _show(code, out)
    day.expect("the same code again is refused (14)", code == 1 and out.get("rc") == "14")
    day.expect("wallet charged 25.00 once", day.balance(wallet) == before_w - 2500)
    return magstripe_stan, chip_stan


def _declines(day: Day, cards: DemoCards) -> None:
    acct = day.card_account
    _scene("Wrong PIN")
    before = day.balance(acct(cards.other["pan"]))
    wrong = "000000" if cards.other["pin"] != "000000" else "111111"
    code, out = day.swipe(1, "10.00", cards.other, wrong)
    _show(code, out)
    day.expect("declined 55", code == 1 and out.get("rc") == "55")
    _charged(day, cards.other["pan"], before, 0, "nothing charged")

    _scene("Insufficient funds")
    before = day.balance(acct(cards.low["pan"]))
    code, out = day.swipe(1, "20.00", cards.low)
    _show(code, out)
    day.expect("declined 51", code == 1 and out.get("rc") == "51")
    _charged(day, cards.low["pan"], before, 0, "nothing charged")


def _duplicate(day: Day, cards: DemoCards) -> None:
    from steadypos.chaos.proxy import Toxic  # lazily, like every room the CLI does not need

    _scene("Duplicate retransmission: the proxy sends T3's request twice")
    day.proxy.add(Toxic("duplicate_request", direction="upstream", count=1, name="dup"))
    before = day.balance(day.card_account(cards.other["pan"]))
    code, out = day.swipe(2, "66.00", cards.other)
    _show(code, out)
    day.proxy.clear()
    day.expect("approved", code == 0)
    day.expect("the host saw the request twice",
               day.proxy.injected.get("duplicate_request", 0) >= 1)
    _charged(day, cards.other["pan"], before, 6600, "charged once, not twice")


def _void_and_refund(day: Day, cards: DemoCards, magstripe_stan: int, chip_stan: int) -> None:
    _scene("Void of the magstripe sale")
    before = day.balance(day.card_account(cards.rich["pan"]))
    code, out = day.terminal(1, "void", "--stan", str(magstripe_stan))
    _show(code, out)
    day.expect("void approved", code == 0)
    _charged(day, cards.rich["pan"], before, -8800, "88.00 back on the card")

    _scene("Partial refund of the chip sale: 20.00 of 120.00")
    before = day.balance(day.card_account(cards.chip["pan"]))
    code, out = day.terminal(2, "refund", "--stan", str(chip_stan), "--amount", "20.00")
    _show(code, out)
    day.expect("refund approved", code == 0)
    _charged(day, cards.chip["pan"], before, -2000, "20.00 back on the card")


def _faults(day: Day, cards: DemoCards) -> None:
    """A terminal killed mid-sale and an answer lost on the way: both end with the money back."""
    from steadypos.chaos.proxy import Toxic

    rich, acct = cards.rich, day.card_account
    _scene("Flash-exit: T1's process is SIGKILLed after sending a sale")
    before = day.balance(acct(rich["pan"]))
    code, out = day.swipe(1, "50.00", rich, bench=("--crash-at", "request_sent"))
    console.print(f"   terminal process ended by signal {-code}" if code < 0 else
                  f"   terminal exit {code}")
    day.expect("the process died by SIGKILL", code == -9)
    code, out = day.terminal(1, "recover")
    _show(code, out)
    day.expect("on restart the operator is told: reversed: not charged",
               any("reversed: not charged" in x for x in out.get("recovered", [])))
    _charged(day, rich["pan"], before, 0, "nothing charged after the automatic reversal")

    _scene("Lost response: the proxy drops T3's answer; the terminal reverses")
    day.proxy.add(Toxic("drop_response", direction="downstream", count=1, name="lost"))
    before = day.balance(acct(rich["pan"]))
    code, out = day.swipe(2, "30.00", rich)
    _show(code, out)
    day.proxy.clear()
    day.expect("no answer: failed with a reversal pending (exit 3)", code == 3)
    day.expect("meanwhile the host had charged the card",
               day.balance(acct(rich["pan"])) == before - 3000)
    code, out = day.terminal(2, "recover")
    _show(code, out)
    day.expect("reversal sent (98) and answered", code == 0)
    _charged(day, rich["pan"], before, 0, "money back after the reversal")


def run_day(day: Day) -> None:
    """The trading day's scenes in order; each checks the money it moved."""
    cards = _cards(day)
    _opening(day)
    magstripe_stan, chip_stan = _sales(day, cards)
    _declines(day, cards)
    _duplicate(day, cards)
    _void_and_refund(day, cards, magstripe_stan, chip_stan)
    _faults(day, cards)

    _scene("The counter screen: a payment interrupted, in Chinese and English")
    from steadypos.demo_counter import counter_scene

    counter_scene(day, cards.rich, day.balance(day.card_account(cards.rich["pan"])))

    _scene("Settlement")
    for n in (1, 2):
        code, out = day.terminal(n, "settle")
        _show(code, out)
        day.expect(f"terminal {n}: balanced", code == 0 and out.get("balanced") is True)


def tls_day(day: Day, pki: certs.Pki) -> None:
    """One terminal trades on the host's TLS listener (§8); a client without a certificate is
    refused at the handshake."""
    t = day.data["terminals"][1]
    card = next(c for c in day.data["cards"] if c["kind"] == "magstripe"
                and c["status"] == "active" and c["balance"] >= 10_000)
    _scene(f"TLS: {t['tid']} on the TLS listener, with a certificate whose CN is its TID")
    day.terminal(3, "init", "--host", "127.0.0.1", "--port", str(day.host.tls_port),
                 "--tid", t["tid"], "--mid", t["mid"], "--tmk", t["tmk"], "--timeout", "5",
                 "--mac", t["mac"], "--tls-ca", str(pki.ca_cert),
                 "--tls-cert", str(pki.cert(t["tid"])), "--tls-key", str(pki.key(t["tid"])))
    code, out = day.terminal(3, "sign-in")
    _show(code, out)
    day.expect(f"{t['tid']} signed in over TLS", code == 0 and out.get("rc") == "00")
    before = day.balance(day.card_account(card["pan"]))
    code, out = day.swipe(3, "42.00", card)
    _show(code, out)
    day.expect("sale approved over TLS", code == 0 and out.get("rc") == "00")
    _charged(day, card["pan"], before, 4200, "charged once")
    code, out = day.terminal(3, "settle")
    _show(code, out)
    day.expect("settled over TLS: balanced", code == 0 and out.get("balanced") is True)
    stranger = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # trusts the host, shows no certificate
    stranger.load_verify_locations(pki.ca_cert)
    try:
        Connection("127.0.0.1", day.host.tls_port, ssl_context=stranger).close()
        refused = False
    except LinkError as exc:
        refused = not exc.sent
        console.print(f"   stranger: {exc}")
    day.expect("a client without a certificate is refused at the handshake", refused)


def _closing(day: Day) -> None:
    _scene("Balances and the ledger")
    table = Table()
    for col in ("account", "opening", "now", "change"):
        table.add_column(col)
    for c in day.data["cards"]:
        if c["status"] != "active":
            continue
        now = day.balance(day.card_account(c["pan"]))
        table.add_row(f"card {mask_pan(c['pan'])}", format_fen(c["balance"]), format_fen(now),
                      format_fen(now - c["balance"]))
    mids = sorted({t["mid"] for t in day.data["terminals"]})
    for mid in mids:
        now = day.balance(merchant_account(mid))
        table.add_row(f"merchant {mid}", "0.00", format_fen(now), format_fen(now))
    console.print(table)
    store = open_store(day.host.db)
    report = check(store)
    store.close()
    day.expect(f"ledger: {report.postings} postings balanced, grand total {report.grand_total}",
               report.ok)


def _console_until_interrupted(url: str, password: str, serve: bool) -> None:
    console.print(f"[bold]TMS console:[/bold] {url}/ui/  (login [bold]admin[/bold] / "
                  f"[bold]{password}[/bold], made by this demo run)", markup=True)
    if not serve:
        return
    console.print("host and TMS keep running; press Ctrl-C to stop")
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass


def _leave(root: Path, keep: bool) -> None:
    """Keep the demo's folder and say how to look into it, or remove it and say so."""
    if keep:
        console.print(f"the demo's files are kept in {root}: for example `steadypos host "
                      f"terminals --db {root / 'host.db'}`, `steadypos ledger check --db "
                      f"{root / 'host.db'}`; remove the folder when done", highlight=False,
                      soft_wrap=True)
        return
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    console.print(f"removed the demo's folder {root} (--clean)", highlight=False,
                  soft_wrap=True)


def demo(keep: bool = typer.Option(True, "--keep/--clean",
                                   help="keep the demo's folder (host database, journals, "
                                        "logs, certificates) and say where it is, or remove it "
                                        "at the end"),
         serve: bool = typer.Option(sys.stdin.isatty() and sys.stdout.isatty(),
                                    "--serve/--no-serve", show_default="serve when run from "
                                    "a terminal",
                                    help="keep host and TMS running at the end, for the "
                                         "console"),
         ) -> None:
    """A scripted trading day with faults; exits 0 only if every expectation held."""
    from steadypos.chaos.proxy import FaultProxy
    from steadypos.host import process
    from steadypos.tms import demo as tms_demo
    from steadypos.tms import demo_fleet as tms_fleet
    from steadypos.tms import demo_loop as tms_loop

    root = Path(tempfile.mkdtemp(prefix="steadypos-demo-"))
    console.print(f"[bold]steadypos demo[/bold] in {root} "
                  f"({'kept at the end' if keep else 'removed at the end: --clean'})")
    pki = certs.write_test_pki(root / "tls", [demo_data()["terminals"][1]["tid"]])
    host = EmbeddedHost(root / "host.db", tls=tls.server_context(
        pki.host_cert, pki.host_key, pki.ca_cert)).start()
    proxy = FaultProxy(upstream=("127.0.0.1", host.port), listen=("127.0.0.1", 0), seed=1)
    proxy.start()
    day = Day(root, host, proxy, demo_data())
    failed: Callable[[], int] = lambda: sum(1 for _, ok in day.checks if not ok)  # noqa: E731
    tms = None
    try:
        run_day(day)
        tls_day(day, pki)
        _scene("TMS: a merchant applies, is approved, and its new terminal activates and trades")
        tms, url, password = tms_demo.start(day)
        tms_demo.onboard(day, url, password, console)
        _scene("TMS: a technician edits the terminal's TPDU by hand; /drift finds it, a push "
               "repairs it")
        tms_fleet.drift(day, url, password, console)
        _scene("TMS: a release built with a crash fault, rolled out in stages, halts itself")
        tms_fleet.bad_release(day, url, password, console)
        _scene("TMS: the loop closed: flash-exits → incidents → runbooks → remedies checked")
        tms_loop.close_loop(day, url, password, console)
        _closing(day)
        if not failed():
            _console_until_interrupted(url, password, serve)
    finally:
        if tms is not None:
            process.stop(tms)
        proxy.stop()
        host.stop()
        _leave(root, keep)
    n_bad = failed()
    if n_bad:
        console.print(f"[bold red]{n_bad} of {len(day.checks)} expectations failed[/bold red]")
        raise typer.Exit(1)
    console.print(f"[bold green]all {len(day.checks)} expectations held[/bold green]")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
