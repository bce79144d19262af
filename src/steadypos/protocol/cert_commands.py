"""CLI: `steadypos certs ca|host|terminal`: a test CA and the certificates of the TLS link (§8).
Prints what it wrote, never a private key; bad input exits 2 and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from cryptography import x509
from rich.console import Console

from steadypos.protocol import certs

certs_app = typer.Typer(help="Test CA and certificates for the TLS link (pos-link-v1.1 §8).",
                        no_args_is_help=True)

T = TypeVar("T")
CA_CERT, CA_KEY, HOST_CERT, HOST_KEY = certs.CA_CERT, certs.CA_KEY, certs.HOST_CERT, certs.HOST_KEY

OUT = typer.Option(..., "--out", help="folder to write into (created if missing)")
CA_DIR = typer.Option(..., "--ca", help=f"folder holding {CA_CERT} and {CA_KEY}")


def _fail(message: str) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(f"error: {message}", markup=False,
                                               highlight=False)
    raise typer.Exit(2)


def _read_ca(ca_dir: Path) -> tuple[bytes, bytes]:
    missing = [str(ca_dir / n) for n in (CA_CERT, CA_KEY) if not (ca_dir / n).is_file()]
    if missing:
        _fail(f"no CA at {ca_dir}: missing {', '.join(missing)} "
              f"(make one with `steadypos certs ca --out {ca_dir}`)")
    try:
        return (ca_dir / CA_CERT).read_bytes(), (ca_dir / CA_KEY).read_bytes()
    except OSError as exc:
        _fail(f"cannot read the CA at {ca_dir}: {exc.strerror}")


def _describe(cert_pem: bytes) -> str:
    cert = certs.load_cert(cert_pem)
    bits = [f"CN={certs.tid_of(cert)}", f"valid until {cert.not_valid_after_utc:%Y-%m-%d}"]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        bits.append("SAN " + ", ".join(str(n.value) for n in san))
    except x509.ExtensionNotFound:
        pass
    return "certificate " + ", ".join(bits)


def _write(files: dict[Path, bytes]) -> None:
    try:
        certs.write_all(files)
    except certs.CertError as exc:
        _fail(f"{exc} (nothing written)")
    except OSError as exc:
        _fail(f"cannot write {exc.filename}: {exc.strerror} (nothing written)")
    for path, data in files.items():
        what = ("private key, mode 0600" if certs.private_file(path.name)
                else _describe(data))
        print(f"wrote {path}: {what}")


def _issue(make: Callable[[], T]) -> T:
    """Run one issuing call; bad input becomes a one-line error."""
    try:
        return make()
    except certs.CertError as exc:
        _fail(str(exc))


@certs_app.command("ca")
def ca(out: Path = OUT,
       name: str = typer.Option("steadypos test CA", "--name", help="the CA's common name"),
       days: int = typer.Option(certs.CA_DAYS, "--days", help="validity in days")) -> None:
    """A test CA: ca.pem (give it to hosts and terminals) and ca.key (keep it)."""
    made = _issue(lambda: certs.make_ca(name, days))
    _write({out / CA_CERT: made.cert_pem, out / CA_KEY: made.key_pem})


@certs_app.command("host")
def host(ca_dir: Path = CA_DIR, out: Path = OUT,
         name: list[str] = typer.Option([], "--name", help="a name or IP terminals dial "
                                        "(repeatable); 127.0.0.1 and localhost always"),
         days: int = typer.Option(certs.HOST_DAYS, "--days", help="validity in days")) -> None:
    """The host's server certificate (host.pem, host.key) for `host --tls-cert/--tls-key`."""
    ca_cert, ca_key = _read_ca(ca_dir)
    made = _issue(lambda: certs.issue_host_cert(ca_cert, ca_key, name, days))
    _write({out / HOST_CERT: made.cert_pem, out / HOST_KEY: made.key_pem})


@certs_app.command("terminal")
def terminal(ca_dir: Path = CA_DIR,
             tid: str = typer.Option(..., "--tid", help="the terminal's TID: the cert's CN"),
             out: Path = OUT,
             csr: Path = typer.Option(None, "--csr", help="path of a CSR (PEM) to sign instead of "
                                      "making a key; its CN is replaced by --tid"),
             days: int = typer.Option(certs.TERMINAL_DAYS, "--days",
                                      help="validity in days")) -> None:
    """A terminal's client certificate, TID.pem (and TID.key unless --csr)."""
    try:
        certs.check_tid(tid)
    except certs.CertError as exc:
        _fail(str(exc))
    ca_cert, ca_key = _read_ca(ca_dir)
    if csr is None:
        made = _issue(lambda: certs.new_terminal_cert(ca_cert, ca_key, tid, days))
        _write({out / f"{tid}.pem": made.cert_pem, out / f"{tid}.key": made.key_pem})
        return
    try:
        csr_pem = csr.read_bytes()
    except OSError as exc:
        _fail(f"cannot read the CSR {csr}: {exc.strerror}")
    cert_pem = _issue(lambda: certs.issue_terminal_cert(ca_cert, ca_key, csr_pem, tid, days))
    _write({out / f"{tid}.pem": cert_pem})


def register(app: typer.Typer) -> None:
    app.add_typer(certs_app, name="certs")
