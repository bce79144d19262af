"""Nothing secret at rest (issue 8, point 7): every message type goes through a `steadypos host`
process and our terminal; then every byte of every file the host and the terminal wrote (SQLite
pages, free ones included, WAL, key files, logs, receipts) is searched for each demo PAN, track 2,
TMK, every working key issued, every PIN block sent and the QR codes, as text and packed BCD.
Every such file is mode 0600 whatever the umask was."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostproc import DemoTerminal
from support.processes import host_process
from support.world import DEMO, rich_cards

from steadypos.protocol import builders
from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.link import Connection, LinkTimeout
from steadypos.terminal.flows import CardInput, Terminal
from steadypos.terminal.keystore import KeyStore

T1 = DEMO["terminals"][0]
CHIP = next(c for c in DEMO["cards"] if c["kind"] == "chip")


class Wire:
    """The terminal's link, recorded; `lose` makes the next answer of that MTI vanish after the
    host acted on it (a timeout, so the terminal reverses)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.received: list[Message] = []
        self.lose: str | None = None

    def factory(self, host: str, port: int, connect_timeout: float = 5.0,
                read_timeout: float = 30.0) -> Tap:
        return Tap(self, Connection(host, port, connect_timeout, read_timeout))


class Tap:
    def __init__(self, wire: Wire, conn: Connection) -> None:
        self.wire, self.conn = wire, conn

    def send(self, msg: Message) -> None:
        self.wire.sent.append(msg)
        self.conn.send(msg)

    def receive(self) -> Message:
        resp = self.conn.receive()
        self.wire.received.append(resp)
        if self.wire.lose and self.wire.sent[-1].mti == self.wire.lose:
            self.wire.lose = None
            raise LinkTimeout("answer lost (test)", sent=True)
        return resp

    def close(self) -> None:
        self.conn.close()


def _bcd(digits: str) -> bytes:
    text = digits.replace("=", "D").upper()
    return bytes.fromhex(text + "0" * (len(text) % 2))


def _forms(value: str | bytes) -> set[bytes]:
    """How a secret could sit in a file: as text, as packed BCD, as raw bytes or hex."""
    if isinstance(value, bytes):
        return {value, value.hex().encode(), value.hex().upper().encode()}
    forms = {value.encode(), value.replace("D", "=").encode(), _bcd(value)}
    if all(c in "0123456789ABCDEF" for c in value.upper()) and len(value) % 2 == 0:
        forms.add(value.lower().encode())
    return forms


def _needles(wire: Wire, others: list[DemoTerminal], blocks: list[str]) -> dict[bytes, str]:
    secrets: dict[bytes, str] = {}

    def add(what: str, value: str | bytes) -> None:
        for form in _forms(value):
            secrets[form] = what

    for c in DEMO["cards"]:
        add(f"PAN of {c['pan'][-4:]}", c["pan"])
        add(f"track 2 of {c['pan'][-4:]}", c["track2"])
    for q in DEMO["qr_codes"]:
        add("QR code", q["code"])
    for t in DEMO["terminals"]:
        add(f"TMK of {t['tid']}", bytes.fromhex(t["tmk"]))
    key_sets = [unpack_key_block(bytes.fromhex(T1["tmk"]), bytes.fromhex(r.get(62)))
                for r in wire.received if r.mti == "0810" and r.get(39) == "00"]
    key_sets += [o.keys for o in others if o.keys is not None]
    assert len(key_sets) >= 2
    for keys in key_sets:
        for name in ("pik", "mak", "tdk"):
            add(f"working key {name}", getattr(keys, name))
    for block in blocks + [m.get(52) for m in wire.sent if 52 in m]:
        add("PIN block", bytes.fromhex(block))
    return secrets


def _written(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        yield from (p for p in sorted(folder.rglob("*")) if p.is_file())


def _scan(files: list[Path], needles: dict[bytes, str]) -> list[str]:
    found = []
    for path in files:
        data = path.read_bytes()
        found += [f"{path.name}: {what}" for needle, what in needles.items() if needle in data]
    return found


def _trade(term: Terminal, wire: Wire, folder: Path) -> None:
    cards = rich_cards()
    chip_file = folder / "card" / "chip.json"
    chip_file.parent.mkdir()
    chip_file.write_text(json.dumps({k: CHIP[k] for k in ("pan", "expiry", "psn", "icc_mk")}))

    def ok(out: Any) -> Any:
        assert out.result in ("approved", "done"), out.message
        return out

    ok(term.sign_in())
    sale = ok(term.sale(1_000, CardInput(track2=cards[0]["track2"]), cards[0]["pin"]))
    ok(term.sale(2_000, CardInput(card_file=chip_file), CHIP["pin"]))
    ok(term.sale(300, CardInput(qr=DEMO["qr_codes"][0]["code"])))
    ok(term.balance(cards[1]["track2"], cards[1]["pin"]))
    ok(term.void(sale.stan))
    refunded = ok(term.sale(5_000, CardInput(track2=cards[1]["track2"]), cards[1]["pin"]))
    ok(term.refund(refunded.stan, 1_500))
    wire.lose = "0200"
    lost = term.sale(700, CardInput(track2=cards[2]["track2"]), cards[2]["pin"])
    assert lost.reversal_pending
    assert term.recover() is None and term.journal.reversals() == []


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_no_secret_in_any_file_and_every_file_owner_only(tmp_path: Path, umask_022: None) -> None:
    host_dir, term_dir = tmp_path / "host", tmp_path / "terminal"
    host_dir.mkdir()
    term_dir.mkdir()
    host = host_process(host_dir / "host.db", log_file=host_dir / "host.log").start()
    wire, blocks = Wire(), []
    try:
        journal = term_dir / "t1.db"
        Terminal.init(journal, host.host, host.port, T1["tid"], T1["mid"],
                      bytes.fromhex(T1["tmk"]), timeout=5.0)
        term = Terminal.open(journal, link_factory=wire.factory)
        _trade(term, wire, tmp_path)
        # A sale the terminal never saw (made with its own keys, straight to the host): its
        # settlement is not balanced and it uploads its batch.
        behind = DemoTerminal(host.host, host.port, 0)
        behind.keys = KeyStore.load(journal.with_name(journal.name + ".keys")).working
        extra = behind.sale(400, rich_cards()[3], stan=900)
        blocks.append(extra.get(52))
        assert behind.exchange(extra).get(39) == "00"
        out = term.settle()
        assert out.result == "done" and out.extra["uploaded"] > 0, out.message
        # Echo and sign-out from another terminal.
        other = DemoTerminal(host.host, host.port, 2)
        other.sign_in()
        assert other.exchange(builders.echo(other.station, 50, 1)).get(39) == "00"
        assert other.exchange(builders.sign_out(other.station, 51, 1)).get(39) == "00"
        for c in (behind, other):
            c.close()
        needles = _needles(wire, [behind, other], blocks)
        files = list(_written(host_dir, term_dir))
        assert {p.name for p in files} >= {"host.db", "host.db-wal", "host.db.keys", "host.log",
                                           "t1.db", "t1.db-wal", "t1.db.keys",
                                           "t1.db.events.jsonl"}
        assert _scan(files, needles) == []  # while both WALs still hold the day
        term.close()
    finally:
        host.stop(signal.SIGTERM)
    files = [p for p in _written(host_dir, term_dir) if ".stderr." not in p.name]
    assert _scan(files, needles) == []
    assert any(p.parent.name.endswith(".receipts") for p in files)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == \
        {p.name: "0o600" for p in files}
    # The checks can fail: the same scan finds what the test itself wrote in clear.
    leak = tmp_path / "card" / "chip.json"
    assert _scan([leak], needles) == [f"chip.json: PAN of {CHIP['pan'][-4:]}"]
