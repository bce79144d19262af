"""The host's logs never hold a full PAN, a PIN, a PIN block, track data or a key: neither the
`--log-file` of `steadypos host` after a full day's exchange, nor what pytest captures from a host
running in the test process."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hostproc import DemoTerminal, scrubbed_logs
from support.processes import host_process
from support.world import DEMO, rich_cards, swipe

from steadypos.host.embedded import EmbeddedHost
from steadypos.host.settings import default_keys_path
from steadypos.protocol import builders, emv, mac
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message, encode_frame
from steadypos.protocol.crypto import WorkingKeys
from steadypos.protocol.fields import BatchRecord, Field60, Totals, format_batch_records


class SecretKeeper(DemoTerminal):
    """A demo terminal that keeps every secret it sends or receives, to look for in the log."""

    def __init__(self, host: str, port: int, index: int = 0) -> None:
        super().__init__(host, port, index)
        self.secrets: set[str] = set()

    def exchange(self, msg: Message) -> Message:
        for n in (35, 36, 52):
            if n in msg:
                self.secrets.add(msg.get(n))
        resp = super().exchange(msg)
        if 62 in resp:
            self.secrets.add(resp.get(62))
        return resp

    def sign_in(self) -> Message:
        resp = super().sign_in()
        assert self.keys is not None
        self.secrets |= {k.hex().upper() for k in (self.keys.pik, self.keys.mak, self.keys.tdk)}
        return resp

    def run(self, msg: Message, rc: str) -> Message:
        resp = self.exchange(msg)
        assert resp.get(39) == rc, (msg.mti, msg.get(3), resp.get(39))
        return resp


def chip(card: dict[str, Any], amount: int) -> Card:
    icc = emv.card_generate_arqc(bytes.fromhex(card["icc_mk"]), 1,
                                 emv.ChipTxn(amount, datetime.now().strftime("%y%m%d"),
                                             b"\x12\x34\x56\x78"))
    t2 = swipe(card)
    return Card(t2.pan, t2.expiry, t2.track2, method="05", psn=card["psn"], icc=icc)


def full_day(t: SecretKeeper, raw_port: int) -> None:
    """Every kind of exchange, good and bad, from one terminal."""
    t.sign_in()
    assert t.keys is not None
    cards = rich_cards()
    by_status = {c["status"]: c for c in DEMO["cards"] if c["status"] != "active"}
    low = next(c for c in DEMO["cards"] if c["status"] == "active" and c["balance"] < 1000)
    st, b = t.station, t.batch
    sales = []
    for card in cards:
        req = t.sale(1000, card)
        sales.append((req, card, t.run(req, "00")))
    chip_card = next(c for c in DEMO["cards"] if c["kind"] == "chip")
    t.run(builders.sale(st, next(t.stans), b, 2000, chip(chip_card, 2000), chip_card["pin"],
                        t.keys.pik), "00")
    t.run(builders.sale(st, next(t.stans), b, 500, Card.qr(DEMO["qr_codes"][0]["code"])), "00")
    t.run(builders.balance(st, next(t.stans), b, swipe(cards[0]), cards[0]["pin"], t.keys.pik),
          "00")
    (req, card, resp) = sales[0]
    t.run(builders.void(st, next(t.stans), b, 1000, swipe(card), int(req.get(11)), b,
                        resp.get(37), resp.get(38), card["pin"], t.keys.pik), "00")
    (req, card, resp) = sales[1]
    t.run(builders.refund(st, next(t.stans), b, 400, swipe(card), int(req.get(11)), b,
                          resp.get(37), resp.get(13)), "00")
    t.run(builders.reversal(sales[2][0], "98"), "00")
    wrong = "000000" if cards[3]["pin"] != "000000" else "111111"
    t.run(builders.sale(st, next(t.stans), b, 1000, swipe(cards[3]), wrong, t.keys.pik), "55")
    t.run(t.sale(1000, by_status["expired"]), "54")
    t.run(t.sale(1000, by_status["blocked"]), "14")
    t.run(t.sale(100_000, low), "51")
    no_f25 = t.sale(1000, cards[4])
    del no_f25.fields[25]
    t.run(no_f25, "30")
    bad_mac = mac.sign(t.sale(1000, cards[4]), WorkingKeys.fresh().mak)
    keys, t.keys = t.keys, None  # send it as signed, with a MAC under the wrong key
    t.run(bad_mac, "A0")
    t.keys = keys
    # A malformed frame: a PAN digit that is not BCD. The host closes on it.
    frame = bytearray(encode_frame(mac.sign(t.sale(1000, cards[4]), t.keys.mak)))
    frame[25] = 0xAF
    with socket.create_connection(("127.0.0.1", raw_port), timeout=10) as sock:
        sock.sendall(bytes(frame))
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""
    t.sign_in()
    st, b = t.station, t.batch
    # An unbalanced settlement, then the batch upload with full PANs in F48.
    resp = t.run(builders.settle(st, next(t.stans), b, Totals(1, 1, 0, 0)), "00")
    assert resp.get(48)[30] == "2"
    records = [BatchRecord(int(req.get(11)), card["pan"], 1000) for req, card, _ in sales[:4]]
    t.run(builders.batch_upload(st, next(t.stans), b, format_batch_records(records), False), "00")
    t.run(builders.batch_upload(st, next(t.stans), b, f"{len(records):04d}", True), "00")
    t.run(builders.sign_in(st, next(t.stans), Field60.parse(resp.get(60)).batch + 1), "00")


def forbidden(t: SecretKeeper, db: Path) -> dict[str, str]:
    """Every secret that must not be in a log: what it is, by its text."""
    out: dict[str, str] = {}
    for c in DEMO["cards"]:
        out[c["pan"]] = f"PAN {c['pan'][-4:]}"
        out[c["track2"]] = "track 2"
        out[c["track2"].replace("D", "=")] = "track 2"
        if "icc_mk" in c:
            out[c["icc_mk"]] = "ICC master key"
    for q in DEMO["qr_codes"]:
        out[q["code"]] = "QR payment code"
    for term in DEMO["terminals"]:
        out[term["tmk"]] = "TMK"
    keys = json.loads((default_keys_path(db) or db).read_text())
    out[keys["lmk"]] = "LMK"
    out[keys["issuer_mk"]] = "issuer master key"
    for s in t.secrets:
        out[s] = "PIN block, track data, working key or key block"
    return out


def leaks(text: str, t: SecretKeeper, db: Path) -> list[str]:
    found = [f"{what} ({s[:4]}...)" for s, what in forbidden(t, db).items()
             if s.upper() in text.upper()]
    pins = {c["pin"] for c in DEMO["cards"]}
    for line in text.splitlines():
        if "pin" in line.lower():
            found += [f"PIN in {line!r}" for p in pins if re.search(rf"(?<!\d){p}(?!\d)", line)]
    return found


def test_log_file_after_a_full_exchange_holds_no_card_data_pin_or_key(tmp_path: Path) -> None:
    db, log = tmp_path / "host.db", tmp_path / "host.log"
    with host_process(db, log_file=log) as h:
        t = SecretKeeper(h.host, h.port)
        with t:
            full_day(t, h.port)
        rc, _ = h.stop(signal.SIGTERM)
    assert rc == 0
    text = log.read_text()
    # The log is there and speaks of what happened, with PANs masked.
    assert len(text.splitlines()) >= 25
    for needle in ("sale", "void", "refund", "reversal", "settle", "rc=55",
                   "undecodable", "refused rc=30", "refused rc=A0", "622202*********"):
        assert needle in text, needle
    assert leaks(text, t, db) == []
    assert leaks(h.stderr(), t, db) == []


def test_pytest_captured_logs_of_an_in_process_host_are_scrubbed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "host.db"
    caplog.set_level(logging.INFO, logger="steadypos")
    with scrubbed_logs(), EmbeddedHost(db, seed_demo=True) as host:
        t = SecretKeeper("127.0.0.1", host.port)
        with t:
            full_day(t, host.port)
        # Whatever a careless line would put there reaches pytest already masked.
        card = rich_cards()[0]
        logging.getLogger("steadypos.host").warning("careless: pan %s track %s", card["pan"],
                                                    card["track2"])
    assert "careless: pan 622202*********" in caplog.text
    assert "sale" in caplog.text and "622202*********" in caplog.text
    assert leaks(caplog.text, t, db) == []
    assert all(leaks(r.getMessage(), t, db) == [] for r in caplog.records)
