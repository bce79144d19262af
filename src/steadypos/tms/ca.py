"""The TMS's own certificate authority: created at first start in its folder (`ca.pem`, and
`ca.key` with mode 0600, never printed), it signs each activated device's CSR with CN = TID.
A host trusts it by `--client-ca` on the CA certificate (`steadypos tms serve --write-ca-cert`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from steadypos.protocol import certs
from steadypos.tms.errors import Invalid

CA_NAME = "steadypos TMS terminal CA"


@dataclass(frozen=True)
class TmsCa:
    cert_pem: str
    _key_pem: bytes

    @classmethod
    def load_or_create(cls, folder: Path) -> TmsCa:
        cert, key = folder / "ca.pem", folder / "ca.key"
        if not cert.exists() and not key.exists():
            made = certs.make_ca(CA_NAME)
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
            # Another process may have made it meanwhile: then we use theirs.
            with contextlib.suppress(certs.CertError):
                certs.write_all({cert: made.cert_pem, key: made.key_pem})
        if key.stat().st_mode & 0o077:
            raise PermissionError(f"{key} is readable by others; it must be mode 0600")
        return cls(cert.read_text(), key.read_bytes())

    def issue(self, csr_pem: str, tid: str) -> str:
        """The device's client certificate (PEM), CN = `tid` whatever the CSR asked for."""
        try:
            return certs.issue_terminal_cert(self.cert_pem.encode(), self._key_pem,
                                             csr_pem.encode(), tid).decode()
        except certs.CertError as exc:
            raise Invalid("csr", str(exc)) from None

    def issue_host(self, names: list[str]) -> certs.Issued:
        """The host's TLS server certificate, so that terminals activated here, which trust
        only this CA, can verify the host they talk to."""
        return certs.issue_host_cert(self.cert_pem.encode(), self._key_pem, names)

    def write_cert(self, path: Path) -> None:
        """The CA certificate (public) where a host's `--client-ca` reads it."""
        path.write_text(self.cert_pem)

    def __repr__(self) -> str:
        return "TmsCa(<certificate>, <private key hidden>)"
