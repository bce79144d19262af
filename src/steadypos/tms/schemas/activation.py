"""The device's activation call."""

from __future__ import annotations

from pydantic import Field

from steadypos.tms.schemas.common import Model


class ActivateIn(Model):
    serial: str = Field(min_length=1, max_length=64)
    activation_code: str = Field(min_length=1, max_length=40)
    public_key: str = Field(min_length=1, max_length=4000, description="PEM, RSA >= 2048 bits")
    csr: str = Field(min_length=1, max_length=8000, description="PEM; the TMS sets CN = TID")


class Activated(Model):
    tid: str
    mid: str
    mac_algorithm: str
    host: str
    port: int
    tls_port: int | None
    tpdu: str
    tmk_wrapped: str = Field(description="the TMK under public_key, RSA-OAEP-SHA256, base64")
    certificate: str
    ca_certificate: str
    terminal_token: str
    params_version: int
    release_public_key: str = Field(description="PEM: the key every release is signed with "
                                    "(Ed25519)")
