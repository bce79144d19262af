"""`steadypos host --tls-port` (pos-link-v1.1 §8) as a process: its ready lines, a terminal that
trades over TLS, handshakes refused without a certificate or with one of another CA, and a
request whose F41 is not the certificate's TID answered 03 and closed, with nothing moved."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostproc import DemoTerminal, balances, card_accounts
from support.processes import host_process
from support.world import DEMO, rich_cards
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.host import process
from steadypos.host.ledger import merchant_account
from steadypos.host.process import HostProcess, steadypos_argv
from steadypos.host.sqlite_store import read_only
from steadypos.protocol import builders, certs, tls
from steadypos.protocol.link import Connection, LinkError

T1, T2 = DEMO["terminals"][0]["tid"], DEMO["terminals"][1]["tid"]


class TlsTerminal(DemoTerminal):
    """A demo terminal that connects over TLS with the given context."""

    def __init__(self, port: int, index: int, ctx: tls.ssl.SSLContext) -> None:
        super().__init__("127.0.0.1", port, index)
        self.ctx = ctx

    def connect(self) -> Connection:
        if self.conn is None:
            self.conn = Connection(*self.addr, connect_timeout=self.timeout,
                                   read_timeout=self.timeout, ssl_context=self.ctx)
        return self.conn


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.Pki:
    return certs.write_test_pki(tmp_path_factory.mktemp("pki"), [T1, T2])


def _tls_args(pki: certs.Pki) -> tuple[str, ...]:
    return ("--tls-cert", str(pki.host_cert), "--tls-key", str(pki.host_key),
            "--client-ca", str(pki.ca_cert))


def _next_line(h: HostProcess) -> str:
    line = h.next_line()
    assert line, f"no second ready line: {h.stderr()}"
    return line


@dataclass
class Both:
    """A host process with a plain listener (its first ready line) and a TLS one (its second)."""

    proc: HostProcess
    tls_line: str

    @property
    def db(self) -> Path:
        return self.proc.db

    @property
    def tls_port(self) -> int:
        return process.parse_ready(self.tls_line.encode())[1]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, pki: certs.Pki) -> Iterator[Both]:
    db = tmp_path_factory.mktemp("host") / "host.db"
    with host_process(db, extra=("--tls-port", "0", *_tls_args(pki))) as h:
        yield Both(h, _next_line(h))


def _client(pki: certs.Pki, tid: str) -> tls.ssl.SSLContext:
    return tls.client_context(pki.ca_cert, pki.cert(tid), pki.key(tid))


def _txn_count(db: Path) -> int:
    with closing(read_only(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM txns").fetchone()[0])


def test_ready_lines_plain_first_unchanged_then_tls(both: Both) -> None:
    plain = both.proc.ready_line
    assert re.fullmatch(r"listening on 127\.0\.0\.1:[1-9]\d*\n", plain)
    assert re.fullmatch(r"listening on 127\.0\.0\.1:[1-9]\d* \(tls\)\n", both.tls_line)
    assert process.parse_ready(plain.encode()) == ("127.0.0.1", both.proc.port, False)
    assert process.parse_ready(both.tls_line.encode()) == ("127.0.0.1", both.tls_port, True)
    assert both.tls_port != both.proc.port


def test_a_terminal_trades_over_tls(both: Both, pki: certs.Pki) -> None:
    card = rich_cards()[0]
    with TlsTerminal(both.tls_port, 0, _client(pki, T1)) as t:
        t.sign_in()
        before = balances(both.db)
        resp = t.exchange(t.sale(1234, card))
        assert resp.get(39) == "00" and resp.get(41) == T1
        resp = t.exchange(t.sale(100, card))  # the same connection carries the next request
        assert resp.get(39) == "00"
    after = balances(both.db)
    moved = {a: after[a] - before.get(a, 0) for a in after if after[a] != before.get(a, 0)}
    assert moved == {card_accounts(both.db)[card["pan"]]: -1334,
                     merchant_account(DEMO["terminals"][0]["mid"]): 1334}


@pytest.mark.parametrize("who", ["no_certificate", "foreign_certificate"])
def test_handshake_refused_moves_nothing_and_the_host_serves_on(
        both: Both, pki: certs.Pki, tmp_path: Path, who: str) -> None:
    if who == "no_certificate":
        ctx = tls.ssl.SSLContext(tls.ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki.ca_cert)
    else:
        foreign = certs.write_test_pki(tmp_path, [T1])
        ctx = tls.client_context(pki.ca_cert, foreign.cert(T1), foreign.key(T1))
    before, rows = balances(both.db), _txn_count(both.db)
    with pytest.raises(LinkError) as err, TlsTerminal(both.tls_port, 0, ctx) as t:
        t.sign_in()
    assert err.value.sent is False
    assert balances(both.db) == before and _txn_count(both.db) == rows
    with TlsTerminal(both.tls_port, 0, _client(pki, T1)) as good:
        assert good.echo().get(39) == "00"
    assert "Traceback" not in both.proc.stderr() and " ERROR " not in both.proc.stderr()


def test_f41_other_than_the_certificates_tid_gets_03_and_closed(
        both: Both, pki: certs.Pki) -> None:
    card = rich_cards()[1]
    real = TlsTerminal(both.tls_port, 0, _client(pki, T1))
    real.sign_in()
    # T2's certificate, T1's identity, T1's real keys: a correctly MAC'd sale.
    thief = TlsTerminal(both.tls_port, 0, _client(pki, T2))
    thief.keys, thief.batch, thief.stans = real.keys, real.batch, real.stans
    before, rows = balances(both.db), _txn_count(both.db)
    for attempt in ("sale", "sign_in"):
        req = thief.sale(5000, card) if attempt == "sale" else \
            builders.sign_in(real.station, next(real.stans), real.batch)
        resp = thief.exchange(req)
        assert resp.get(39) == "03" and resp.get(41) == T1
        assert 64 not in resp.fields and 62 not in resp.fields  # no MAC, no keys on a 03
        with pytest.raises(LinkError, match="closed"):
            thief.connect().receive()
        thief.close()
    assert balances(both.db) == before and _txn_count(both.db) == rows
    assert re.search(rf"{T1} (sale|sign_in) stan=\d+ refused rc=03: F41 is not {T2}",
                     both.proc.stderr())
    # The real terminal was neither charged, signed out nor re-keyed: its next sale goes through.
    assert real.exchange(real.sale(100, card)).get(39) == "00"
    real.close()


def test_f41_mismatch_after_a_good_request_on_the_same_connection(
        both: Both, pki: certs.Pki) -> None:
    with TlsTerminal(both.tls_port, 1, _client(pki, T2)) as t:
        assert t.echo().get(39) == "00"
        other = builders.echo(builders.Station(T1, DEMO["terminals"][0]["mid"]), 99, 1)
        assert t.exchange(other).get(39) == "03"
        with pytest.raises(LinkError):
            t.connect().receive()


def test_a_broken_tls_record_closes_quietly_and_the_host_serves_on(
        both: Both, pki: certs.Pki) -> None:
    raw = socket.create_connection(("127.0.0.1", both.tls_port), timeout=10)
    conn = tls.client_handshake(raw, _client(pki, T1), "127.0.0.1", 10)
    raw = socket.socket(fileno=conn.detach())  # below TLS: an application record it cannot open
    raw.settimeout(10)
    raw.sendall(b"\x17\x03\x03\x00\x20" + bytes(32))
    while raw.recv(100):  # perhaps an alert, then the host closes
        pass
    raw.close()
    with TlsTerminal(both.tls_port, 0, _client(pki, T1)) as t:
        assert t.echo().get(39) == "00"
    assert "Traceback" not in both.proc.stderr() and " ERROR " not in both.proc.stderr()


def test_tls_only_host(tmp_path: Path, pki: certs.Pki) -> None:
    argv = steadypos_argv("host", "--db", str(tmp_path / "h.db"), "--seed-demo", "--tls-port", "0",
               *_tls_args(pki))
    proc, host, port = process.start(argv, stderr=subprocess.DEVNULL)
    try:
        with TlsTerminal(port, 0, _client(pki, T1)) as t:
            assert t.echo().get(39) == "00"
    finally:
        assert process.stop(proc) == 0


@pytest.mark.parametrize("case", ["no_port", "tls_port_alone", "files_without_tls_port",
                                  "missing_cert", "key_of_another_cert", "bad_client_ca"])
def test_bad_tls_options_exit_2_with_one_line(tmp_path: Path, pki: certs.Pki, case: str) -> None:
    db = tmp_path / "h.db"
    files = list(_tls_args(pki))
    args = ["--db", str(db), "--port", "0", "--tls-port", "0", *files]
    if case == "no_port":
        args = ["--db", str(db)]
    elif case == "tls_port_alone":
        args = args[:6]
    elif case == "files_without_tls_port":
        args = ["--db", str(db), "--port", "0", *files]
    elif case == "missing_cert":
        args[args.index("--tls-cert") + 1] = str(tmp_path / "nope.pem")
    elif case == "key_of_another_cert":
        args[args.index("--tls-key") + 1] = str(pki.key(T1))
    else:
        (tmp_path / "ca.pem").write_text("garbage")
        args[args.index("--client-ca") + 1] = str(tmp_path / "ca.pem")
    run = CliRunner().invoke(app, ["host", *args], env={"COLUMNS": "80"})  # fails before logging
    assert run.exit_code == 2, run.output
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert not db.exists()
