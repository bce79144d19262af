"""`steadypos certs ca|host|terminal`: the files it writes (CN, SAN, usages, modes 0600 for keys),
what it prints (never a key), and bad input: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from steadypos.cli import app
from steadypos.protocol import certs

TID = "T0000001"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["certs", *args], env={"COLUMNS": "200"})


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    result = run("ca", "--out", str(tmp_path / "ca"))
    assert result.exit_code == 0, result.output
    return tmp_path / "ca"


def test_ca_host_and_terminal(tmp_path: Path, ca_dir: Path) -> None:
    assert _files(ca_dir) == ["ca.key", "ca.pem"] and _mode(ca_dir / "ca.key") == 0o600
    host = run("host", "--ca", str(ca_dir), "--out", str(tmp_path / "host"),
               "--name", "pos.example.com")
    term = run("terminal", "--ca", str(ca_dir), "--tid", TID, "--out", str(tmp_path / "t"))
    for result in (host, term):
        assert result.exit_code == 0, result.output
        assert "PRIVATE KEY" not in result.output
    t = tmp_path / "t"
    assert f"wrote {t / (TID + '.pem')}: certificate CN={TID}, valid until" in term.output
    assert f"wrote {t / (TID + '.key')}: private key, mode 0600" in term.output
    assert "SAN 127.0.0.1, localhost, pos.example.com" in host.output

    ca = _cert(ca_dir / "ca.pem")
    host_cert, term_cert = _cert(tmp_path / "host" / "host.pem"), _cert(t / f"{TID}.pem")
    for cert, usage in ((host_cert, ExtendedKeyUsageOID.SERVER_AUTH),
                        (term_cert, ExtendedKeyUsageOID.CLIENT_AUTH)):
        cert.verify_directly_issued_by(ca)
        assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) \
            == [usage]
        key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert key_usage.digital_signature and not key_usage.key_cert_sign
    assert certs.tid_of(term_cert) == TID
    san = host_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "pos.example.com" in san.get_values_for_type(x509.DNSName)
    assert _mode(tmp_path / "host" / "host.key") == _mode(t / f"{TID}.key") == 0o600
    assert not _mode(tmp_path / "host" / "host.pem") & 0o022  # public, writable by no one else


def test_terminal_from_a_csr(tmp_path: Path, ca_dir: Path) -> None:
    key_pem = certs.key_to_pem(certs.new_key())
    csr = tmp_path / "device.csr"
    csr.write_bytes(certs.make_csr(key_pem, "T7777777"))
    result = run("terminal", "--ca", str(ca_dir), "--tid", TID, "--csr", str(csr),
                 "--out", str(tmp_path / "t"))
    assert result.exit_code == 0, result.output
    assert _files(tmp_path / "t") == [f"{TID}.pem"]  # the device keeps its key
    assert certs.tid_of((tmp_path / "t" / f"{TID}.pem").read_bytes()) == TID


@pytest.mark.parametrize("case", ["no_ca", "half_ca", "bad_tid", "exists", "bad_days",
                                  "bad_csr", "bad_name", "ca_key_mismatch"])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, ca_dir: Path, case: str) -> None:
    out = tmp_path / "out"
    args = ["terminal", "--ca", str(ca_dir), "--tid", TID, "--out", str(out)]
    if case == "no_ca":
        args[2] = str(tmp_path / "nowhere")
    elif case == "half_ca":
        (ca_dir / "ca.key").unlink()
    elif case == "bad_tid":
        args[4] = "T1"
    elif case == "exists":
        out.mkdir()
        (out / f"{TID}.key").write_bytes(b"an older key")
    elif case == "bad_days":
        args += ["--days", "-1"]
    elif case == "bad_csr":
        (tmp_path / "x.csr").write_text("not a CSR")
        args += ["--csr", str(tmp_path / "x.csr")]
    elif case == "bad_name":
        args = ["host", "--ca", str(ca_dir), "--out", str(out), "--name", "no such name!"]
    else:
        (ca_dir / "ca.key").write_bytes(certs.make_ca().key_pem)
    before = _files(out)
    result = CliRunner().invoke(app, ["certs", *args], env={"COLUMNS": "80"})
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert _files(out) == before
    if case == "exists":
        assert (out / f"{TID}.key").read_bytes() == b"an older key"
