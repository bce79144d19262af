"""Certificates of the TLS link (§8): what the CA, host and terminal certificates say (CN, SAN,
key usage, extended key usage, issuer), terminal certificates from a CSR with the CN forced to
the TID, and bad input refused before anything is written."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from steadypos.protocol import certs

TID = "T0000001"


@pytest.fixture(scope="module")
def ca() -> certs.Issued:
    return certs.make_ca()


def _load(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension:
    return cert.extensions.get_extension_for_class(kind)


def _public(key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, None)
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def test_ca_is_a_ca_that_signs_certificates_only(ca: certs.Issued) -> None:
    cert = _load(ca.cert_pem)
    basic = _ext(cert, x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    cert.verify_directly_issued_by(cert)  # self-signed
    assert _spki(cert) == _public(ca.key_pem)
    assert "hidden" in repr(ca) and b"PRIVATE" not in repr(ca).encode()


def test_host_certificate(ca: certs.Issued) -> None:
    host = certs.issue_host_cert(ca.cert_pem, ca.key_pem, ["pos.example.com", "10.1.2.3"])
    cert = _load(host.cert_pem)
    cert.verify_directly_issued_by(_load(ca.cert_pem))
    assert _spki(cert) == _public(host.key_pem)
    san = _ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "pos.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                        ipaddress.ip_address("10.1.2.3")]
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = _ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    assert not _ext(cert, x509.BasicConstraints).value.ca
    assert certs.tid_of(cert) == "pos.example.com"


def test_terminal_certificate_from_a_csr_takes_the_tid_whatever_the_csr_says(
        ca: certs.Issued) -> None:
    device_key = certs.key_to_pem(certs.new_key())
    other = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "T9999999"),
                       x509.NameAttribute(NameOID.ORGANIZATION_NAME, "someone else")])
    key = serialization.load_pem_private_key(device_key, None)
    csr = (x509.CertificateSigningRequestBuilder().subject_name(other)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .sign(key, hashes.SHA256()))  # type: ignore[arg-type]
    pem = certs.issue_terminal_cert(ca.cert_pem, ca.key_pem,
                                    csr.public_bytes(serialization.Encoding.PEM), TID, days=30)
    cert = _load(pem)
    assert cert.subject.rfc4514_string() == f"CN={TID}"
    assert certs.tid_of(pem) == TID
    assert certs.tid_of(cert.public_bytes(serialization.Encoding.DER)) == TID
    assert _spki(cert) == _public(device_key)  # the device keeps its own key
    assert not _ext(cert, x509.BasicConstraints).value.ca  # what the CSR asked for is ignored
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert _ext(cert, x509.KeyUsage).value.digital_signature
    cert.verify_directly_issued_by(_load(ca.cert_pem))
    assert 29 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 30


def test_new_terminal_certificate_goes_through_the_csr_path(ca: certs.Issued) -> None:
    made = certs.new_terminal_cert(ca.cert_pem, ca.key_pem, TID)
    cert = _load(made.cert_pem)
    assert certs.tid_of(cert) == TID and _spki(cert) == _public(made.key_pem)
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def _csr(key: object, tid: str = TID) -> bytes:
    pem = key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                            serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return certs.make_csr(pem, tid)


BAD_INPUT = {"tid": "8 letters or digits", "csr_garbage": "not a PEM certificate signing",
             "csr_signature": "signature does not verify", "weak_rsa": "at least 2048",
             "not_ca": "not a CA", "foreign_key": "does not belong", "days": "positive"}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused(ca: certs.Issued, case: str) -> None:
    csr = _csr(serialization.load_pem_private_key(certs.key_to_pem(certs.new_key()), None))
    ca_cert, ca_key, tid, days = ca.cert_pem, ca.key_pem, TID, 30
    if case == "tid":
        tid = "T1/23456"
    elif case == "csr_garbage":
        csr = b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
    elif case == "csr_signature":
        der = bytearray(x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER))
        der[-3] ^= 0x01  # inside the signature
        csr = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    elif case == "weak_rsa":
        csr = _csr(rsa.generate_private_key(65537, 1024))
    elif case == "not_ca":
        leaf = certs.issue_host_cert(ca.cert_pem, ca.key_pem)
        ca_cert, ca_key = leaf.cert_pem, leaf.key_pem
    elif case == "foreign_key":
        ca_key = certs.make_ca().key_pem
    else:
        days = 0
    with pytest.raises(certs.CertError, match=BAD_INPUT[case]):
        certs.issue_terminal_cert(ca_cert, ca_key, csr, tid, days)


@pytest.mark.parametrize("tid", ["T000001", "T00000011", "T000 001", "T00000é1", ""])
def test_tid_is_eight_letters_or_digits(tid: str) -> None:
    with pytest.raises(certs.CertError):
        certs.check_tid(tid)


def test_a_host_name_that_is_no_name_is_refused(ca: certs.Issued) -> None:
    with pytest.raises(certs.CertError, match="neither"):
        certs.issue_host_cert(ca.cert_pem, ca.key_pem, ["bad name!"])


def test_write_all_writes_keys_0600_and_never_replaces(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    certs.write_all({out / "a.pem": b"cert", out / "a.key": b"key"})
    assert stat.S_IMODE((out / "a.key").stat().st_mode) == 0o600
    assert (out / "a.pem").read_bytes() == b"cert"
    with pytest.raises(certs.CertError, match="already exists"):
        certs.write_all({out / "b.pem": b"other", out / "a.key": b"other key"})
    assert not (out / "b.pem").exists() and (out / "a.key").read_bytes() == b"key"
    assert sorted(p.name for p in out.iterdir()) == ["a.key", "a.pem"]  # no temporary left


def test_write_test_pki(tmp_path: Path) -> None:
    pki = certs.write_test_pki(tmp_path, ["T0000001", "T0000002"])
    assert certs.tid_of(pki.cert("T0000002").read_bytes()) == "T0000002"
    keys = sorted(p.name for p in tmp_path.glob("*.key"))
    assert keys == ["T0000001.key", "T0000002.key", "ca.key", "host.key"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("*.key")} == {0o600}
