"""TLS for the link (pos-link-v1.1 §8): the host's and the terminal's ssl contexts (TLS 1.2 or
newer, a client certificate required), and the TID that a peer's certificate names."""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from steadypos.protocol.certs import CertError, tid_of

MIN_VERSION = ssl.TLSVersion.TLSv1_2
HANDSHAKE_TIMEOUT = 10.0  # seconds a server gives a client to finish its handshake


class TlsError(ValueError):
    """A certificate, key or CA file that cannot be used; the message names the file."""


def _load(files: dict[str, str | Path], load: Callable[[], object]) -> None:
    """Run `load` (one of the context's loaders) over `files` (option -> path); each failure
    becomes a one-line TlsError naming the option and the file."""
    for option, path in files.items():
        if not Path(path).is_file():
            raise TlsError(f"{option} {path}: no such file")
    try:
        load()
    except (ssl.SSLError, OSError, ValueError) as exc:
        named = " with ".join(f"{option} {path}" for option, path in files.items())
        raise TlsError(f"{named}: cannot be used: {exc}") from None


def _no_password() -> str:
    # Without a callback OpenSSL would prompt on the controlling terminal and hang a service.
    raise ValueError("the private key is encrypted; give an unencrypted key file (mode 0600)")


def _load_pair(ctx: ssl.SSLContext, cert_file: str | Path, key_file: str | Path) -> None:
    _load({"--tls-cert": cert_file, "--tls-key": key_file},
          lambda: ctx.load_cert_chain(str(cert_file), str(key_file), password=_no_password))


def server_context(cert_file: str | Path, key_file: str | Path,
                   client_ca_file: str | Path) -> ssl.SSLContext:
    """The host's listener: presents `cert_file`, and requires every client to present a
    certificate issued by `client_ca_file` (one made for client authentication)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = MIN_VERSION
    ctx.verify_mode = ssl.CERT_REQUIRED
    _load_pair(ctx, cert_file, key_file)
    _load({"--client-ca": client_ca_file},
          lambda: ctx.load_verify_locations(str(client_ca_file)))
    return ctx


def client_context(ca_file: str | Path, cert_file: str | Path,
                   key_file: str | Path) -> ssl.SSLContext:
    """A terminal's side: checks the host's certificate against `ca_file` and the host name it
    dials, and presents the terminal's own certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the peer and its host name
    ctx.minimum_version = MIN_VERSION
    _load({"--tls-ca": ca_file}, lambda: ctx.load_verify_locations(str(ca_file)))
    _load_pair(ctx, cert_file, key_file)
    return ctx


def client_handshake(sock: socket.socket, ctx: ssl.SSLContext, host: str,
                     timeout: float) -> ssl.SSLSocket:
    """Wrap a connected socket and finish the handshake, the host's acceptance of our certificate
    included: raises OSError (ssl.SSLError among them) when the host refused us, so that nothing
    is sent on a link the host will not read."""
    tls_sock = ctx.wrap_socket(sock, server_hostname=host)  # handshakes within sock's timeout
    if tls_sock.version() == "TLSv1.3":
        _await_acceptance(tls_sock, timeout)
    return tls_sock


def _await_acceptance(sock: ssl.SSLSocket, timeout: float) -> None:
    """In TLS 1.3 the client's handshake ends before the server has checked the client's
    certificate; the server's verdict comes after: a session ticket (accepted: OpenSSL servers,
    ours included, send one at once) or an alert and a close (refused). Wait for either. A host
    that sends no ticket costs `timeout` and is then taken as accepting."""
    deadline = time.monotonic() + timeout
    sock.setblocking(False)
    try:
        while not (sock.session is not None and sock.session.has_ticket):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            select.select([sock], [], [], left)
            try:
                data = sock.recv(1)
            except ssl.SSLWantReadError:
                continue  # a record that was no application data: the ticket, perhaps
            raise ConnectionRefusedError(
                "the host refused the terminal's certificate (or its lack of one)" if not data
                else "the host spoke before the terminal did")
    finally:
        sock.settimeout(timeout)


def peer_tid(conn: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The TID (subject CN) of the certificate the peer presented, or None without one."""
    der = conn.getpeercert(binary_form=True) if conn is not None else None
    if not der:
        return None
    try:
        return tid_of(der)
    except CertError:
        return None
