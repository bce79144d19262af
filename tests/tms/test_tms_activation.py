"""Activation end to end with real processes: apply → approve → assign → ship → `terminal
activate` → `terminal sign-in` → a sale over TLS approved at the host; lock and retire give 03;
a used code 409, a wrong serial 403; a crash between the TMS's and the host's writes is harmless
and the device's retry finishes the activation."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.pg import drop_schema, fresh_schema, pg_reason
from tmskit import PASSWORD, application

from steadypos.host import process
from steadypos.host.demo_data import demo_data
from steadypos.host.embedded import EmbeddedHost
from steadypos.host.secrets import open_keys
from steadypos.host.store import open_store
from steadypos.protocol import certs, tls
from steadypos.tms.ca import TmsCa


@dataclass
class Stack:
    root: Path
    db: str  # the host's and the TMS's database: a SQLite path or a PostgreSQL URL
    keys: Path  # the host's key file
    host: EmbeddedHost
    url: str
    api: httpx.Client

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.api.request(method, f"/api/v1{path}", **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def shipped(self, serial: str) -> tuple[str, str, str]:
        """(MID, TID, activation code) of a freshly approved merchant's shipped terminal."""
        app_id = self.ok("POST", "/applications", 201, json=application())["id"]
        mid = self.ok("POST", f"/applications/{app_id}/approve")["mid"]
        tid = self.ok("POST", "/terminals", 201, json={
            "mid": mid, "serial": serial, "brand": "PAX", "model": "A920",
            "firmware": "PayDroid 8.1"})["tid"]
        code = self.ok("POST", f"/terminals/{tid}/ship",
                       json={"carrier": "SF Express", "tracking_no": "SF1234567890"})
        return mid, tid, code["activation_code"]

    def terminal(self, journal: Path, *args: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(process.steadypos_argv("terminal", *args, "--journal",
                                                     str(journal), "--json"),
                              capture_output=True, text=True, timeout=120)
        return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])

    def activate(self, journal: Path, serial: str, code: str) -> tuple[int, dict[str, Any]]:
        return self.terminal(journal, "activate", "--tms", self.url, "--serial", serial,
                             "--code", code)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    schema = None
    if request.param == "postgresql":
        reason = pg_reason()
        if reason:
            pytest.skip(reason)
        schema, db = fresh_schema("tms_test")
    root = tmp_path_factory.mktemp("activation")
    if schema is None:
        db = str(root / "host.db")
    keys = root / "host.db.keys"
    # The host's TLS certificate from the TMS's CA, which also signs the terminals' ones.
    issued = TmsCa.load_or_create(root / "host.db.tms-ca").issue_host([])
    certs.write_all({root / "host.pem": issued.cert_pem, root / "host.key": issued.key_pem})
    host = EmbeddedHost(db, keys=keys, tls=tls.server_context(root / "host.pem", root / "host.key",
                                                   root / "host.db.tms-ca" / "ca.pem")).start()
    (root / "pw").write_text(PASSWORD + "\n")
    subprocess.run(process.steadypos_argv("tms", "create-user", "--db", db, "--username",
                                          "ops", "--role", "ops", "--password-file",
                                          str(root / "pw")), check=True, capture_output=True)
    proc, _, port = process.start(process.steadypos_argv(
        "tms", "serve", "--db", db, "--host-keys", str(keys), "--ca-dir",
        str(root / "host.db.tms-ca"), "--port", "0", "--link", f"127.0.0.1:{host.port}",
        "--tls-link", f"127.0.0.1:{host.tls_port}", "--write-ca-cert", str(root / "ca.pem")))
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url, timeout=30)
    token = api.post("/api/v1/auth/token", data={"username": "ops", "password": PASSWORD})
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    try:
        yield Stack(root, db, keys, host, url, api)
    finally:
        api.close()
        assert process.stop(proc) == 0
        host.stop()
        if schema is not None:
            drop_schema(schema)


def _card_balance(stack: Stack, pan: str) -> int:
    store = open_store(stack.db)
    try:
        card = store.card(open_keys(stack.keys).pan_ref(pan))
        assert card is not None
        return store.balance(card.account)
    finally:
        store.close()


def test_apply_to_a_sale_over_tls_then_lock_and_retire(stack: Stack) -> None:
    mid, tid, code = stack.shipped("SN-E2E-0001")
    journal = stack.root / "e2e.db"
    rc, out = stack.activate(journal, "SN-E2E-0001", code)
    assert rc == 0, out
    assert (out["tid"], out["mid"], out["mac_algorithm"]) == (tid, mid, "x919")
    assert out["tls_port"] == stack.host.tls_port
    assert stack.ok("GET", f"/terminals/{tid}")["status"] == "active"
    assert (stack.root / "e2e.db.tls" / "terminal.key").stat().st_mode & 0o777 == 0o600
    assert certs.tid_of((stack.root / "e2e.db.tls" / "terminal.pem").read_bytes()) == tid
    assert not (stack.root / "e2e.db.activation").exists()
    rc, out = stack.terminal(journal, "sign-in")
    assert (rc, out["rc"]) == (0, "00"), out
    card = demo_data()["cards"][0]
    before = _card_balance(stack, card["pan"])

    def sale() -> tuple[int, dict[str, Any]]:
        return stack.terminal(journal, "sale", "--amount", "12.34", "--track2", card["track2"],
                              "--pin", card["pin"])

    rc, out = sale()
    assert (rc, out["rc"], out["result"]) == (0, "00", "approved"), out
    assert _card_balance(stack, card["pan"]) == before - 1234
    stack.ok("POST", f"/terminals/{tid}/lock")
    rc, out = sale()
    assert (rc, out["rc"]) == (1, "03"), out
    stack.ok("POST", f"/terminals/{tid}/unlock")
    rc, out = sale()
    assert (rc, out["rc"]) == (0, "00"), out
    assert stack.ok("POST", f"/terminals/{tid}/retire")["status"] == "retired"
    rc, out = sale()
    assert (rc, out["rc"]) == (1, "03"), out
    assert _card_balance(stack, card["pan"]) == before - 2 * 1234
    assert stack.api.post(f"/api/v1/terminals/{tid}/unlock").status_code == 409
    history = [e["action"] for e in stack.ok("GET", "/audit", params={"entity_id": tid})["items"]]
    assert history == ["terminal.retire", "terminal.unlock", "terminal.lock",
                       "terminal.activate", "terminal.ship", "terminal.assign"]


def _device_body(serial: str, code: str, bits: int = 2048) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    tls_key = certs.key_to_pem(certs.new_key())
    return {"serial": serial, "activation_code": code,
            "public_key": key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
            "csr": certs.make_csr(tls_key, "ANYNAME1").decode()}


def test_used_code_409_wrong_serial_403_bad_key_422(stack: Stack) -> None:
    _, tid, code = stack.shipped("SN-E2E-0002")
    wrong = stack.api.post("/api/v1/activate", json=_device_body("SN-E2E-9999", code))
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "serial and activation code do not match"}
    other = stack.api.post("/api/v1/activate", json=_device_body("SN-E2E-0002", "AAAA-BBBB"))
    assert other.status_code == 403
    weak = stack.api.post("/api/v1/activate", json=_device_body("SN-E2E-0002", code, 1024))
    assert weak.status_code == 422 and weak.json()["detail"].startswith("public_key: ")
    bad_csr = {**_device_body("SN-E2E-0002", code), "csr": "-----BEGIN CERTIFICATE REQUEST-----"}
    r = stack.api.post("/api/v1/activate", json=bad_csr)
    assert r.status_code == 422 and r.json()["detail"].startswith("csr: ")
    assert stack.ok("GET", f"/terminals/{tid}")["status"] == "shipped"  # nothing spent
    first = stack.ok("POST", "/activate", json=_device_body("SN-E2E-0002", code.lower()))
    assert first["tid"] == tid and certs.tid_of(first["certificate"].encode()) == tid
    used = stack.api.post("/api/v1/activate", json=_device_body("SN-E2E-0002", code))
    assert used.status_code == 409
    rc, out = stack.activate(stack.root / "again.db", "SN-E2E-0002", code)
    assert rc == 1 and ": 409 " in out["message"] and not (stack.root / "again.db").exists()
