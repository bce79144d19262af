"""The host's rules (point 5), continued: settlement and batch upload, chip and QR, and the
last ones over real TCP and as a subprocess. Exact F39, exact fen, and the ledger after each
step."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit import (
    DEMO,
    MID_A,
    SALE_RESPONSE,
    Host,
    TestTerminal,
    chip_card,
    demo_cards,
    nothing_moved,
    rich_card,
    snapshot,
    swipe,
)
from pyemv import tlv
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.host.embedded import EmbeddedHost
from steadypos.host.ledger import check
from steadypos.host.store import open_store
from steadypos.protocol import builders, emv, mac
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.fields import BatchRecord, Field60, Totals
from steadypos.protocol.link import Connection

STEADYPOS = str(Path(sys.executable).with_name("steadypos"))


# -- settlement and batch upload (§3) ----------------------------------------------------------
def _settled_day(host: Host, term: TestTerminal) -> dict[str, Any]:
    """Sales of 1000, 2000 (voided), 3000 (reversed), 4000 (refunded 1500): host totals are
    debit 5000 in 2, credit 1500 in 1."""
    card = rich_card()
    s1 = term.sale(1_000, swipe(card), card["pin"])
    s2 = term.sale(2_000, swipe(card), card["pin"])
    s3 = term.sale(3_000, swipe(card), card["pin"])
    s4 = term.sale(4_000, swipe(card), card["pin"])
    assert term.void(2_000, swipe(card), s2)[1].get(39) == "00"
    assert term.reverse(s3[0])[1].get(39) == "00"
    r1 = term.refund(1_500, swipe(card), s4)
    assert r1[1].get(39) == "00"
    return {"card": card, "s1": s1, "s4": s4, "r1": r1}


def test_balanced_settlement_closes_the_batch(host: Host, term: TestTerminal) -> None:
    day = _settled_day(host, term)
    card = day["card"]
    _, resp = term.settle(Totals(5_000, 2, 1_500, 1))
    assert resp.mti == "0510" and resp.get(39) == "00"
    assert set(resp.fields) == {11, 12, 13, 15, 37, 39, 41, 42, 48, 49, 60, 64}  # 1.1: MAC'd
    f48 = resp.get(48)
    assert len(f48) == 62 and f48[30] == "1" and f48[61] == "1"
    assert f48[:30] == Totals(5_000, 2, 1_500, 1).format()[:30]
    assert resp.get(60) == "00000001201"
    # The next sign-in moves the terminal to batch 2; batch 1 is closed to voids.
    resp = term.sign_in()
    assert Field60.parse(resp.get(60)).batch == 2 and term.batch == 2
    before, n = snapshot(host)
    assert term.void(1_000, swipe(card), day["s1"])[1].get(39) == "25"
    nothing_moved(host, before, n)
    # A refund of a sale of the closed batch is still allowed, within what is left.
    assert term.refund(2_501, swipe(card), day["s4"])[1].get(39) == "13"
    assert term.refund(2_500, swipe(card), day["s4"])[1].get(39) == "00"
    # That refund belongs to the new batch, where it is the only entry.
    assert term.settle(Totals(0, 0, 2_500, 1))[1].get(48)[30] == "1"
    assert Field60.parse(term.sign_in().get(60)).batch == 3


def test_unbalanced_settlement_then_batch_upload(host: Host, term: TestTerminal) -> None:
    day = _settled_day(host, term)
    card = day["card"]
    _, resp = term.settle(Totals(8_000, 3, 1_500, 1))
    f48 = resp.get(48)
    assert resp.get(39) == "00" and f48[30] == "2" and f48[61] == "2"
    assert host.store.upload_diffs() == []
    # The terminal uploads what it has: s1 right, s4 with a wrong amount, s3 (reversed on the
    # host), and a sale the host never saw.
    s1, s4 = int(day["s1"][0].get(11)), int(day["s4"][0].get(11))
    s3 = s1 + 2
    records = [BatchRecord(s1, card["pan"], 1_000), BatchRecord(s4, card["pan"], 4_100),
               BatchRecord(s3, card["pan"], 3_000), BatchRecord(900, card["pan"], 500),
               BatchRecord(int(day["r1"][0].get(11)), rich_card(1)["pan"], 1_500)]
    before, n = snapshot(host)
    resp = term.upload(records, batch=1)
    assert resp.mti == "0330" and resp.get(39) == "00" and 64 in resp  # 1.1: MAC'd
    assert term.upload([], batch=1, end_count=5).get(39) == "00"
    assert host.store.upload_diffs("T0000001") == [
        ("T0000001", 1, s4, "amount: terminal 4100, host 4000"),
        ("T0000001", 1, s3, "host has it as reversed"),
        ("T0000001", 1, 900, "terminal has it, host does not"),
        ("T0000001", 1, int(day["r1"][0].get(11)), "card differs"),
        ("T0000001", 1, 0, "count: terminal 5, host 3"),
    ]
    nothing_moved(host, before, n)  # the host's record wins: no money moves on an upload
    assert Field60.parse(term.sign_in().get(60)).batch == 2


def test_settlement_is_per_terminal(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    term.sale(1_000, swipe(card), card["pin"])
    t3 = TestTerminal(host, "T0000003")
    t3.sign_in()
    t3.sale(2_000, swipe(card), card["pin"])
    mid_b = DEMO["terminals"][2]["mid"]
    assert mid_b != MID_A
    assert host.merchant_balance(mid_b) == 2_000 and host.merchant_balance() == 1_000
    assert term.settle(Totals(1_000, 1))[1].get(48)[30] == "1"
    assert t3.settle(Totals(1_000, 1))[1].get(48)[30] == "2"


# -- chip and QR -------------------------------------------------------------------------------
def test_chip_sale_verifies_arqc_and_returns_arpc(host: Host, term: TestTerminal) -> None:
    chip = demo_cards("chip")[0]
    card, tags = chip_card(chip, 8_800, atc=7)
    req, resp = term.sale(8_800, card, chip["pin"])
    assert req.get(22) == "051" and req.get(23) == "001"
    assert resp.get(39) == "00" and set(resp.fields) == SALE_RESPONSE | {55}
    icc = bytes.fromhex(resp.get(55))
    assert len(tlv.decode(icc, flatten=True)["91"]) == 10  # ARPC (8) + ARPC response code
    assert emv.card_check_arpc(bytes.fromhex(chip["icc_mk"]), tags, icc)
    assert host.card_balance(chip) == chip["balance"] - 8_800


def test_tampered_arqc_gets_05(host: Host, term: TestTerminal) -> None:
    chip = demo_cards("chip")[1]
    card, tags = chip_card(chip, 8_800)
    icc = bytearray(card.icc)
    at = icc.index(b"\x9f\x26\x08") + 3
    icc[at] ^= 0xFF
    bad = Card(card.pan, card.expiry, card.track2, card.method, card.psn, bytes(icc))
    before, n = snapshot(host)
    _, resp = term.sale(8_800, bad, chip["pin"])
    assert resp.get(39) == "05" and 38 not in resp
    nothing_moved(host, before, n)
    # An ARQC made for another amount is as bad.
    card, _ = chip_card(chip, 8_000)
    assert term.sale(8_800, card, chip["pin"])[1].get(39) == "05"
    nothing_moved(host, before, n)
    good, _ = chip_card(chip, 8_800, atc=2)
    assert term.sale(8_800, good, chip["pin"])[1].get(39) == "00"


def test_chip_card_refund_and_void(host: Host, term: TestTerminal) -> None:
    chip = demo_cards("chip")[0]
    card, _ = chip_card(chip, 5_000, atc=3)
    sale = term.sale(5_000, card, chip["pin"])
    assert sale[1].get(39) == "00"
    # A refund says in F22 that the chip was read but carries no 23/55 (§3).
    req, resp = term.refund(2_000, card, sale)
    assert req.get(22) == "052" and not {23, 55} & set(req.fields)
    assert resp.get(39) == "00"
    assert host.card_balance(chip) == chip["balance"] - 3_000
    sale2 = term.sale(700, chip_card(chip, 700, atc=4)[0], chip["pin"])
    assert term.void(700, chip_card(chip, 700, atc=5)[0], sale2)[1].get(39) == "00"
    assert host.card_balance(chip) == chip["balance"] - 3_000


def test_qr_code_pays_once(host: Host, term: TestTerminal) -> None:
    q = DEMO["qr_codes"][0]
    start = host.wallet_balance(q["wallet"])
    req, resp = term.sale(6_600, Card.qr(q["code"]))
    assert req.get(22) == "032" and resp.get(39) == "00"
    assert host.wallet_balance(q["wallet"]) == start - 6_600 and host.merchant_balance() == 6_600
    before, n = snapshot(host)
    assert term.sale(100, Card.qr(q["code"]))[1].get(39) == "14"
    assert term.sale(100, Card.qr("281234567890123456"))[1].get(39) == "14"
    nothing_moved(host, before, n)
    # Another code of the same wallet still pays.
    other = next(c for c in DEMO["qr_codes"][1:] if c["wallet"] == q["wallet"])
    assert term.sale(400, Card.qr(other["code"]))[1].get(39) == "00"
    assert host.wallet_balance(q["wallet"]) == start - 7_000


def test_wallet_issue_code_pays_once(host: Host, term: TestTerminal) -> None:
    runner = CliRunner()
    # Beside a SQLite file the key file needs no naming; a PostgreSQL host's does.
    keys = [] if host.backend == "sqlite" else ["--keys", str(host.keys)]
    result = runner.invoke(app, ["wallet", "issue-code", "--db", str(host.db), *keys,
                                 "--wallet", "W001"])
    assert result.exit_code == 0, result.output
    code = result.stdout.strip()
    assert re.fullmatch(r"\d{18}", code)
    assert code not in {q["code"] for q in DEMO["qr_codes"]}
    start = host.wallet_balance("W001")
    assert term.sale(1_234, Card.qr(code))[1].get(39) == "00"
    assert host.wallet_balance("W001") == start - 1_234
    assert term.sale(1_234, Card.qr(code))[1].get(39) == "14"
    assert host.wallet_balance("W001") == start - 1_234
    again = runner.invoke(app, ["wallet", "issue-code", "--db", str(host.db), *keys,
                                "--wallet", "W001"])
    assert again.exit_code == 0 and again.stdout.strip() != code
    bad = runner.invoke(app, ["wallet", "issue-code", "--db", str(host.db), *keys,
                              "--wallet", "W999"])
    assert bad.exit_code != 0


def test_wallet_issue_code_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(app, ["wallet", "issue-code", "--db", str(missing),
                                      "--wallet", "W001"])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []  # neither the db nor a keys file with random keys


# -- over real TCP -----------------------------------------------------------------------------
@pytest.fixture
def tcp_host(tmp_path: Path) -> Iterator[EmbeddedHost]:
    with EmbeddedHost(tmp_path / "tcp.db", synchronous="OFF") as h:
        yield h


def _exchange(conn: Connection, msg: Message, keys: WorkingKeys | None) -> Message:
    if keys is not None:
        msg = mac.sign(msg, keys.mak)
    resp = conn.exchange(msg)
    if mac.needs_mac(resp):
        assert keys is not None and mac.verify(resp, keys.mak)
    return resp


def test_tcp_sale_repeat_and_reversal(tcp_host: EmbeddedHost, tmp_path: Path) -> None:
    t = DEMO["terminals"][0]
    st = builders.Station(t["tid"], t["mid"])
    card = rich_card()
    with Connection("127.0.0.1", tcp_host.port, read_timeout=10) as conn:
        resp = _exchange(conn, builders.sign_in(st, 1, 1), None)
        assert resp.get(39) == "00" and resp.tpdu == st.tpdu.swapped()
        keys = unpack_key_block(bytes.fromhex(t["tmk"]), bytes.fromhex(resp.get(62)))
        sale = builders.sale(st, 2, 1, 9_900, swipe(card), card["pin"], keys.pik)
        first = _exchange(conn, sale, keys)
        assert first.get(39) == "00"
        assert _exchange(conn, sale, keys).get(37) == first.get(37)
        assert _exchange(conn, builders.reversal(sale, "98"), keys).get(39) == "00"
    # One request per connection works as well.
    with Connection("127.0.0.1", tcp_host.port, read_timeout=10) as conn:
        stale = WorkingKeys.fresh()
        resp = _exchange(conn, builders.sale(st, 3, 1, 100, swipe(card), card["pin"], stale.pik),
                         stale)
        assert resp.get(39) == "A0"
    store = open_store(tmp_path / "tcp.db")
    try:
        report = check(store)
        assert report.ok, report.problems
        kinds = [k for _, k, _, _, _ in store.posting_sums()]
        assert kinds.count("sale") == 1 and kinds.count("reversal") == 1
    finally:
        store.close()


def test_host_subprocess_serves_and_stops(tmp_path: Path, cli_env: dict[str, str]) -> None:
    db = tmp_path / "sub.db"
    proc = subprocess.Popen([STEADYPOS, "host", "--db", str(db), "--port", "0", "--seed-demo"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.fullmatch(r"listening on ([\d.]+):(\d+)\n", line)
        assert m, line
        t = DEMO["terminals"][2]
        st = builders.Station(t["tid"], t["mid"])
        q = DEMO["qr_codes"][1]
        with Connection(m.group(1), int(m.group(2)), read_timeout=10) as conn:
            resp = _exchange(conn, builders.sign_in(st, 1, 1), None)
            keys = unpack_key_block(bytes.fromhex(t["tmk"]), bytes.fromhex(resp.get(62)))
            assert _exchange(conn, builders.sale(st, 2, 1, 300, Card.qr(q["code"])),
                             keys).get(39) == "00"
            assert _exchange(conn, builders.sale(st, 3, 1, 300, Card.qr(q["code"])),
                             keys).get(39) == "14"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    out = subprocess.run([STEADYPOS, "ledger", "check", "--db", str(db)], capture_output=True,
                         text=True, env=cli_env, timeout=30)
    assert out.returncode == 0 and "ledger balanced" in out.stdout
    assert f"wallet:{q['wallet']}" in out.stdout
