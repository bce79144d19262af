"""How the terminal reaches its host: plain TCP, or TLS with its own certificate (pos-link-v1.1
§8) when its config names the files. The config keeps only the files' paths, never their
contents, so no key material reaches the journal or the event log."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

from steadypos.protocol.certs import CertError, tid_of
from steadypos.protocol.link import Connection, Link, LinkError
from steadypos.protocol.tls import TlsError, client_context

TLS_KEYS = ("tls_ca", "tls_cert", "tls_key")  # config entries: CA of the host, our cert, our key


def tls_config(ca: Path, cert: Path, key: Path, tid: str) -> dict[str, str]:
    """The config entries for TLS, as absolute paths; checked now (readable, the key fits the
    certificate, the certificate names `tid`) so that a mistake shows at init, not at a sale."""
    paths = dict(zip(TLS_KEYS, (str(p.resolve()) for p in (ca, cert, key)), strict=True))
    client_context(*paths.values())
    try:
        named = tid_of(Path(paths["tls_cert"]).read_bytes())
    except (CertError, OSError) as exc:
        raise TlsError(f"--tls-cert {cert}: {exc}") from None
    if named != tid:
        raise TlsError(f"--tls-cert {cert} is for TID {named}, not {tid}: the host would "
                       f"refuse every request (03)")
    return paths


def connector(cfg: dict[str, str]) -> Callable[..., Link]:
    """What opens the terminal's link: a Connection, over TLS when the config says so. The TLS
    context is built at the first connection, so offline commands never read the files."""
    if not cfg.get("tls_ca"):
        return Connection
    context: list[ssl.SSLContext] = []

    def connect(host: str, port: int, **timeouts: float) -> Link:
        if not context:
            try:
                context.append(client_context(*(cfg[k] for k in TLS_KEYS)))
            except TlsError as exc:
                raise LinkError(f"cannot connect over TLS: {exc}", sent=False) from None
        return Connection(host, port, ssl_context=context[0], **timeouts)

    return connect
