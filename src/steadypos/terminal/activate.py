"""`steadypos terminal activate`: the device side of the TMS's activation. It makes a fresh RSA
key (to receive the TMK) and a TLS key with its CSR, calls `POST /activate`, unwraps the TMK into
the key store and initialises the journal, so that `terminal sign-in` works next.

Crash-safe on the device too: the RSA key is written (0600) before the call and the answer right
after it, so a device that dies before its journal exists finishes from the saved answer at the
next run instead of spending its one-time code again."""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from steadypos.protocol import certs
from steadypos.protocol.mac import MacAlgorithm
from steadypos.protocol.tls import TlsError
from steadypos.terminal import transport
from steadypos.terminal.flows import Terminal
from steadypos.terminal.journal import Journal
from steadypos.terminal.lifecycle import TerminalError
from steadypos.terminal.outcome import Exit, Outcome
from steadypos.terminal.screen import show_outcome
from steadypos.terminal.tmsclient import TmsCallError, TmsClient

RSA_BITS = 2048


class ActivationError(Exception):
    """Activation did not happen; `usage` when the input, not the TMS, is at fault."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Files:
    """What activation keeps beside the journal."""

    journal: Path

    @property
    def work(self) -> Path:  # until the journal exists: the RSA key and the saved answer
        return self.journal.with_name(self.journal.name + ".activation")

    @property
    def tls(self) -> Path:  # the host's CA (the TMS's), our certificate and key
        return self.journal.with_name(self.journal.name + ".tls")

    @property
    def tms(self) -> Path:  # the TMS's address and this terminal's token (0600)
        return self.journal.with_name(self.journal.name + ".tms.json")


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _rsa_key(work: Path) -> rsa.RSAPrivateKey:
    path = work / "transport.key"
    if not path.exists():
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        _write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def _tls_key(work: Path) -> bytes:
    path = work / "terminal.key"
    if not path.exists():
        _write_private(path, certs.key_to_pem(certs.new_key()))
    return path.read_bytes()


def _answer(files: Files, tms: str, serial: str, code: str, timeout: float) -> dict[str, Any]:
    saved = files.work / "answer.json"
    if saved.exists():
        answer: dict[str, Any] = json.loads(saved.read_text())
        return answer
    key = _rsa_key(files.work)
    tls_key = _tls_key(files.work)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        answer = TmsClient(tms, timeout=timeout).call(
            "POST", "/activate", {"serial": serial, "activation_code": code,
                                  "public_key": public.decode(),
                                  "csr": certs.make_csr(tls_key, "ACTIVATE").decode()})
    except TmsCallError as exc:
        raise ActivationError(f"the TMS refused the activation: {exc}") from None
    _write_private(saved, json.dumps(answer).encode())
    return answer


def activate(journal: Path, tms: str, serial: str, code: str,
             timeout: float = 30.0) -> dict[str, Any]:
    """Activate and initialise `journal`; the TMS's answer without its secrets."""
    files = Files(journal)
    if journal.exists():
        raise ActivationError(f"{journal} already exists: this terminal is initialised",
                              usage=True)
    answer = _answer(files, tms, serial, code, timeout)
    key = _rsa_key(files.work)
    tmk = key.decrypt(base64.b64decode(answer["tmk_wrapped"]),
                      padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                   algorithm=hashes.SHA256(), label=None))
    tid, port, tls = answer["tid"], answer["port"], None
    if answer.get("tls_port"):
        shutil.rmtree(files.tls, ignore_errors=True)  # a half-written folder of a crashed run
        ca, cert, tls_key = (files.tls / n for n in ("ca.pem", "terminal.pem", "terminal.key"))
        certs.write_all({ca: answer["ca_certificate"].encode(),
                         cert: answer["certificate"].encode(), tls_key: _tls_key(files.work)})
        tls = transport.tls_config(ca, cert, tls_key, tid)
        port = answer["tls_port"]
    _write_private(files.tms, json.dumps({
        "tms": tms, "terminal_token": answer["terminal_token"],
        "release_public_key": answer.get("release_public_key", "")}).encode())
    Terminal.init(journal, answer["host"], port, tid, answer["mid"], tmk, answer["tpdu"],
                  mac_alg=MacAlgorithm(answer["mac_algorithm"]), tls=tls)
    opened = Journal(journal)
    opened.set_config({"params_version": str(answer["params_version"])})
    opened.close()
    shutil.rmtree(files.work)
    return {k: answer[k] for k in ("tid", "mid", "mac_algorithm", "host", "port", "tls_port",
                                   "tpdu", "params_version")}


def command(
    journal: Path = typer.Option(..., "--journal",
                                 help="path of the terminal's journal (made here)"),
    tms: str = typer.Option(..., "--tms", help="the TMS's URL, e.g. http://127.0.0.1:8000"),
    serial: str = typer.Option(..., "--serial", help="this device's serial number"),
    code: str = typer.Option(..., "--code", help="the one-time activation code"),
    timeout: float = typer.Option(30.0, "--timeout", help="seconds to wait for the TMS"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Activate with the TMS: identity, TMK and TLS certificate, then the journal."""
    try:
        done = activate(journal, tms, serial, code, timeout)
    except (ActivationError, TerminalError, TlsError, certs.CertError, OSError) as exc:
        usage = isinstance(exc, ActivationError) and exc.usage
        out = Outcome("failed", str(exc))
        if as_json:
            print(json.dumps({**out.to_json(), "error": "usage" if usage else "activation"}))
        else:
            show_outcome(out)
        raise typer.Exit(Exit.USAGE if usage else Exit.DECLINED) from None
    over = " over TLS" if done["tls_port"] else ""
    out = Outcome("done", f"terminal {done['tid']} of merchant {done['mid']} activated{over}; "
                          f"sign in next")
    print(json.dumps({**out.to_json(), **done})) if as_json else show_outcome(out)
