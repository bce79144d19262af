"""TLS for the link (§8): the contexts (TLS 1.2+, a client certificate required, the host checked
against its CA and name), the TID read from a peer's certificate, and Connection over TLS: a
refused handshake, in TLS 1.2 and in TLS 1.3 (where the server's verdict comes after the client's
handshake), is "cannot connect, nothing sent", and the server indeed never got a byte."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from support.listener import listen

from steadypos.protocol import builders, certs, tls
from steadypos.protocol.link import Connection, LinkError

TID = "T0000001"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.Pki:
    return certs.write_test_pki(tmp_path_factory.mktemp("pki"), [TID])


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> certs.Pki:
    return certs.write_test_pki(tmp_path_factory.mktemp("foreign"), [TID])


@dataclass
class EchoServer:
    """A TLS server on a thread: per connection, the handshake, the TID of the client's
    certificate, then every byte the client sent echoed back."""

    ctx: ssl.SSLContext
    tids: list[str | None] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = listen(self._serve)
        self.port = self.sock.getsockname()[1]

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls_conn:
                self.tids.append(tls.peer_tid(tls_conn))
                data = tls_conn.recv(4096)
                self.received.append(data)
                tls_conn.sendall(data)
        except (ssl.SSLError, OSError) as exc:
            self.refused.append(type(exc).__name__)
            conn.close()

    def close(self) -> None:
        self.sock.close()


def _server(pki: certs.Pki, version: ssl.TLSVersion | None = None) -> EchoServer:
    ctx = tls.server_context(pki.host_cert, pki.host_key, pki.ca_cert)
    if version is not None:
        ctx.maximum_version = version
    return EchoServer(ctx)


@pytest.fixture(params=["TLSv1_2", "TLSv1_3"])
def server(request: pytest.FixtureRequest, pki: certs.Pki) -> Iterator[EchoServer]:
    s = _server(pki, ssl.TLSVersion[request.param])
    yield s
    s.close()


def test_contexts_require_tls_1_2_and_a_client_certificate(pki: certs.Pki) -> None:
    server = tls.server_context(pki.host_cert, pki.host_key, pki.ca_cert)
    client = tls.client_context(pki.ca_cert, pki.cert(TID), pki.key(TID))
    assert server.minimum_version == client.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.verify_mode == ssl.CERT_REQUIRED
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname


def test_a_good_terminal_gets_through_and_the_server_reads_its_tid(
        server: EchoServer, pki: certs.Pki) -> None:
    ctx = tls.client_context(pki.ca_cert, pki.cert(TID), pki.key(TID))
    with Connection("127.0.0.1", server.port, ssl_context=ctx, read_timeout=5) as conn:
        conn.send_raw(b"\x00\x03abc")
        assert conn.receive_payload() == b"abc"
    assert server.tids == [TID] and server.received == [b"\x00\x03abc"]


@pytest.mark.parametrize("who", ["no_certificate", "foreign_certificate", "host_certificate"])
def test_a_refused_handshake_is_cannot_connect_nothing_sent(
        server: EchoServer, pki: certs.Pki, foreign: certs.Pki, who: str) -> None:
    if who == "no_certificate":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki.ca_cert)
    elif who == "foreign_certificate":
        ctx = tls.client_context(pki.ca_cert, foreign.cert(TID), foreign.key(TID))
    else:  # a certificate of the right CA, but made for a server, not a client
        ctx = tls.client_context(pki.ca_cert, pki.host_cert, pki.host_key)
    with pytest.raises(LinkError) as err:
        Connection("127.0.0.1", server.port, ssl_context=ctx, connect_timeout=5)
    assert err.value.sent is False
    assert "over TLS" in str(err.value)
    assert server.received == [] and server.tids == []


def test_a_host_of_another_ca_is_refused_by_the_terminal(
        server: EchoServer, pki: certs.Pki, foreign: certs.Pki) -> None:
    ctx = tls.client_context(foreign.ca_cert, foreign.cert(TID), foreign.key(TID))
    with pytest.raises(LinkError, match="certificate verify failed") as err:
        Connection("127.0.0.1", server.port, ssl_context=ctx)
    assert err.value.sent is False and server.received == []


def test_a_host_that_sends_no_session_ticket_still_connects(pki: certs.Pki) -> None:
    """TLS 1.3 without tickets: the terminal cannot see the verdict, waits its connect
    timeout, and goes on (the host checked the certificate; a refusal would show on reading)."""
    s = _server(pki)
    s.ctx.num_tickets = 0
    try:
        ctx = tls.client_context(pki.ca_cert, pki.cert(TID), pki.key(TID))
        with Connection("127.0.0.1", s.port, ssl_context=ctx, connect_timeout=0.3,
                        read_timeout=5) as conn:
            conn.send_raw(b"\x00\x01z")
            assert conn.receive_payload() == b"z"
    finally:
        s.close()


def test_a_plain_tcp_client_on_a_tls_port_gets_no_answer(server: EchoServer) -> None:
    msg = builders.echo(builders.Station(TID, "898310012345678"), 1, 1)
    with Connection("127.0.0.1", server.port, read_timeout=5) as conn:
        conn.send(msg)
        with pytest.raises(LinkError):
            conn.receive()
    assert server.received == []


@pytest.mark.parametrize("which", ["cert", "key", "encrypted_key", "ca"])
def test_unusable_files_are_one_clear_error(tmp_path: Path, pki: certs.Pki, foreign: certs.Pki,
                                            which: str) -> None:
    cert, key, ca = pki.cert(TID), pki.key(TID), pki.ca_cert
    if which == "cert":
        cert = tmp_path / "missing.pem"
    elif which == "key":
        key = foreign.key(TID)  # a key that is not the certificate's
    elif which == "encrypted_key":  # refused, never a password prompt
        loaded = serialization.load_pem_private_key(key.read_bytes(), None)
        key = tmp_path / "encrypted.key"
        key.write_bytes(loaded.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret")))
    else:
        ca = tmp_path / "garbage.pem"
        ca.write_text("not a certificate")
    with pytest.raises(tls.TlsError) as err:
        tls.client_context(ca, cert, key)
    assert "\n" not in str(err.value)
    assert str({"cert": cert, "ca": ca}.get(which, key)) in str(err.value)
    with pytest.raises(tls.TlsError):
        tls.server_context(cert, key, ca)


def test_peer_tid_without_a_certificate_is_none() -> None:
    assert tls.peer_tid(None) is None
