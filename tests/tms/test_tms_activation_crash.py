"""Activation writes the TMS's tables and the host's registry through different connections: a
crash after either write leaves nothing harmful (the code unspent, no key anyone holds), and the
device's retry finishes with the very TMK the host registered."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tmskit import Tms

from steadypos.host.store import open_store
from steadypos.protocol import certs
from steadypos.tms.models import FleetTerminal


class PowerCut(Exception):
    pass


def _cut(*_: Any, **__: Any) -> None:
    raise PowerCut


def _device(serial: str, code: str) -> tuple[rsa.RSAPrivateKey, dict[str, str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    csr = certs.make_csr(certs.key_to_pem(certs.new_key()), "DEVICE01")
    return key, {"serial": serial, "activation_code": code, "public_key": public.decode(),
                 "csr": csr.decode()}


def _host_tmk(tms: Tms, tid: str) -> bytes | None:
    store = open_store(tms.ctx.settings.db.host_url)
    try:
        row = store.terminal(tid)
        return None if row is None else tms.ctx.host.unseal(row.tmk)
    finally:
        store.close()


def _tms_row(tms: Tms, tid: str) -> FleetTerminal:
    with tms.ctx.sessions() as db:
        row = db.get(FleetTerminal, tid)
        assert row is not None
        return row


@pytest.mark.parametrize("where", ["after the TMS's pending key", "after the host's registry"])
def test_a_crash_between_the_writes_is_harmless_and_the_retry_finishes(
        tms: Tms, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    tid, serial, code = tms.shipped(tms.merchant())
    target: tuple[Any, str] = ((tms.ctx.host, "register") if where.startswith("after the TMS")
                               else (tms.ctx.ca, "issue"))
    with monkeypatch.context() as patch:
        patch.setattr(type(target[0]), target[1], _cut)
        with pytest.raises(PowerCut):
            tms.client.post("/api/v1/activate", json=_device(serial, code)[1])
    row = _tms_row(tms, tid)
    assert row.status == "shipped" and row.pending_tmk is not None  # the code is not spent
    registered = _host_tmk(tms, tid)
    assert (registered is None) == where.startswith("after the TMS")
    key, body = _device(serial, code)  # the device retries with a fresh key pair
    answer = tms.ok("POST", "/activate", json=body, as_user=None)
    tmk = key.decrypt(base64.b64decode(answer["tmk_wrapped"]),
                      padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                   label=None))
    assert _host_tmk(tms, tid) == tmk
    if registered is not None:
        assert tmk == registered  # the host's registration was kept, not replaced
    row = _tms_row(tms, tid)
    assert row.status == "active" and row.pending_tmk is None
    again = tms.client.post("/api/v1/activate", json=_device(serial, code)[1])
    assert again.status_code == 409
