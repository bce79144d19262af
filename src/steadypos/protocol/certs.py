"""X.509 for the link's TLS (pos-link-v1.1 §8): a test CA, the host's server certificate and
terminal client certificates whose subject common name is the TID, issued from a fresh key or
from a device's certificate signing request (the TMS signs those at activation)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# File names, as `steadypos certs` writes them: <folder>/ca.pem, host.key, T0000001.pem ...
CA_CERT, CA_KEY = "ca.pem", "ca.key"
HOST_CERT, HOST_KEY = "host.pem", "host.key"
CA_DAYS = 3650
HOST_DAYS = 825
TERMINAL_DAYS = 825
CLOCK_SKEW = timedelta(minutes=5)  # certificates start a little in the past: device clocks drift
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
MIN_RSA_BITS = 2048
TLS_CURVES = ("secp256r1", "secp384r1", "secp521r1")
# F41 is ans 8 (§2); a TID in a certificate (and in a file name) is 8 letters or digits.
TID_PATTERN = re.compile(r"[0-9A-Za-z]{8}")
DNS_NAME = re.compile(r"(?=.{1,253}$)(\*\.)?([0-9A-Za-z]([0-9A-Za-z-]{0,61}[0-9A-Za-z])?\.?)+")

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class CertError(ValueError):
    """Bad input to issuing: a CA that is not one, a key that does not match, a bad TID or CSR."""


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, both PEM. The key is never printed or logged."""

    cert_pem: bytes
    key_pem: bytes

    def __repr__(self) -> str:
        return "Issued(<certificate>, <private key hidden>)"


# -- keys and names -------------------------------------------------------------------------
def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def check_tid(tid: str) -> str:
    if not TID_PATTERN.fullmatch(tid):
        raise CertError(f"TID {tid!r} must be 8 letters or digits")
    return tid


def tid_of(cert: bytes | x509.Certificate) -> str:
    """The TID a terminal certificate names (its subject CN), from PEM, DER or a loaded one."""
    if not isinstance(cert, x509.Certificate):
        cert = load_cert(cert)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise CertError("the certificate has no single subject common name")
    return str(names[0].value)


def load_cert(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertError(f"not a certificate: {exc}") from None


def _load_key(data: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CertError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertError("the private key must be EC or RSA")
    return key


def _load_ca(ca_cert_pem: bytes, ca_key_pem: bytes) -> tuple[x509.Certificate, PrivateKey]:
    cert, key = load_cert(ca_cert_pem), _load_key(ca_key_pem)
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        raise CertError("the CA certificate is not a CA (no basicConstraints CA:TRUE)")
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise CertError("the CA key does not belong to the CA certificate")
    return cert, key


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_public_key(key: object) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in TLS_CURVES:
        return key
    raise CertError(f"the key must be EC ({', '.join(TLS_CURVES)}) or RSA of at least "
                    f"{MIN_RSA_BITS} bits")


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys((*LOOPBACK_NAMES, *names)):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            if not DNS_NAME.fullmatch(name):
                raise CertError(f"host name {name!r} is neither an IP address nor a DNS name")\
                    from None
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


# -- issuing --------------------------------------------------------------------------------
def _usage(signs_certs: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=signs_certs, crl_sign=signs_certs, encipher_only=False,
                         decipher_only=False)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey |
             rsa.RSAPublicKey, days: int, ca: bool) -> x509.CertificateBuilder:
    if days <= 0:
        raise CertError(f"days must be positive, not {days}")
    now = datetime.now(UTC)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None),
                           critical=True)
            .add_extension(_usage(signs_certs=ca), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False))


def _sign_leaf(builder: x509.CertificateBuilder, ca_cert: x509.Certificate,
               ca_key: PrivateKey) -> bytes:
    # The issuer's own key identifier when it has one (verifiers match the two), else derived.
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = builder.add_extension(aki, critical=False).sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str = "steadypos test CA", days: int = CA_DAYS) -> Issued:
    """A self-signed CA that may sign host and terminal certificates (path length 0)."""
    key = new_key()
    name = _name(common_name)
    cert = _builder(name, name, key.public_key(), days, ca=True).sign(key, hashes.SHA256())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), key_to_pem(key))


def issue_host_cert(ca_cert_pem: bytes, ca_key_pem: bytes, names: Sequence[str] = (),
                    days: int = HOST_DAYS) -> Issued:
    """The host's server certificate: SAN 127.0.0.1, localhost and `names` (IPs or DNS names),
    extended key usage serverAuth; CN the first of `names`, or "steadypos host"."""
    ca_cert, ca_key = _load_ca(ca_cert_pem, ca_key_pem)
    san = _san(names)
    key = new_key()
    builder = (_builder(_name(names[0] if names else "steadypos host"), ca_cert.subject,
                        key.public_key(), days, ca=False)
               .add_extension(san, critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                              critical=False))
    return Issued(_sign_leaf(builder, ca_cert, ca_key), key_to_pem(key))


def make_csr(key_pem: bytes, tid: str) -> bytes:
    """A device's certificate signing request for its TID (what a terminal sends at activation)."""
    key = _load_key(key_pem)
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_name(check_tid(tid)))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def issue_terminal_cert(ca_cert_pem: bytes, ca_key_pem: bytes, csr_pem: bytes, tid: str,
                        days: int = TERMINAL_DAYS) -> bytes:
    """Sign a device's CSR as a terminal client certificate (PEM): subject CN = `tid` whatever the
    CSR asks for, extended key usage clientAuth. Only the CSR's public key is taken, after its
    signature is checked; its other names and extensions are ignored."""
    check_tid(tid)
    ca_cert, ca_key = _load_ca(ca_cert_pem, ca_key_pem)
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise CertError(f"not a PEM certificate signing request: {exc}") from None
    if not csr.is_signature_valid:
        raise CertError("the CSR's signature does not verify")
    public_key = _check_public_key(csr.public_key())
    builder = (_builder(_name(tid), ca_cert.subject, public_key, days, ca=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                              critical=False))
    return _sign_leaf(builder, ca_cert, ca_key)


def new_terminal_cert(ca_cert_pem: bytes, ca_key_pem: bytes, tid: str,
                      days: int = TERMINAL_DAYS) -> Issued:
    """A fresh key and its terminal certificate, through the same CSR path the TMS uses."""
    key_pem = key_to_pem(new_key())
    return Issued(issue_terminal_cert(ca_cert_pem, ca_key_pem, make_csr(key_pem, tid), tid,
                                      days), key_pem)


# -- files ----------------------------------------------------------------------------------
def private_file(name: str) -> bool:
    return name.endswith(".key")


def write_all(files: dict[Path, bytes]) -> None:
    """Write every file or none, never replacing one: each is written to a temporary file first
    (private keys, `*.key`, mode 0600 from the start) and linked into place only once all are
    written; a name taken meanwhile undoes the links already made."""
    taken = [str(p) for p in files if p.exists()]
    if taken:
        raise CertError(f"already exists: {', '.join(taken)}")
    temps: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = temps[path] = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600 if private_file(path.name) else 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for path, tmp in temps.items():
            os.link(tmp, path)  # unlike a rename, fails rather than replace a file
            placed.append(path)
    except BaseException as exc:
        for path in placed:
            path.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise CertError(f"already exists: {exc.filename2 or exc.filename}") from None
        raise
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Pki:
    """A folder of test certificates with the names `steadypos certs` gives them."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / CA_CERT

    @property
    def host_cert(self) -> Path:
        return self.folder / HOST_CERT

    @property
    def host_key(self) -> Path:
        return self.folder / HOST_KEY

    def cert(self, tid: str) -> Path:
        return self.folder / f"{tid}.pem"

    def key(self, tid: str) -> Path:
        return self.folder / f"{tid}.key"


def write_test_pki(folder: Path, tids: Sequence[str], names: Sequence[str] = ()) -> Pki:
    """A fresh test CA in `folder`, the host's certificate (for `names` besides loopback) and one
    certificate per TID: what the demo and the tests run TLS with."""
    ca = make_ca()
    host = issue_host_cert(ca.cert_pem, ca.key_pem, names)
    pki = Pki(folder)
    files = {pki.ca_cert: ca.cert_pem, folder / CA_KEY: ca.key_pem,
             pki.host_cert: host.cert_pem, pki.host_key: host.key_pem}
    for tid in tids:
        term = new_terminal_cert(ca.cert_pem, ca.key_pem, tid)
        files |= {pki.cert(tid): term.cert_pem, pki.key(tid): term.key_pem}
    write_all(files)
    return pki
