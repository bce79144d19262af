"""The host's local master key (the role an HSM plays): keys at rest and card lookups go through it.

Keys are stored enciphered under the LMK; PANs, QR codes and PINs only as keyed hashes, so a copy of
the database alone reveals no card data and no key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as _secrets
from dataclasses import dataclass
from pathlib import Path

from steadypos.protocol.crypto import tdes_decrypt, tdes_encrypt


@dataclass(frozen=True)
class HostSecrets:
    lmk: bytes
    issuer_mk: bytes  # issuer master key for ARQC (EMV)

    def seal(self, key: bytes) -> str:
        return tdes_encrypt(self.lmk, key).hex().upper()

    def unseal(self, sealed: str) -> bytes:
        return tdes_decrypt(self.lmk, bytes.fromhex(sealed))

    def _mac(self, purpose: str, *parts: str) -> str:
        msg = "\x1f".join((purpose, *parts)).encode()
        return hmac.new(self.lmk, msg, hashlib.sha256).hexdigest()[:32]

    def pan_ref(self, pan: str) -> str:
        return self._mac("pan", pan)

    def code_ref(self, code: str) -> str:
        return self._mac("qr", code)

    def pin_verifier(self, pan: str, pin: str) -> str:
        return self._mac("pin", pan, pin)

    def __repr__(self) -> str:
        return "HostSecrets(<hidden>)"


def secrets_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.keys")


def load_or_create(db_path: str | Path, issuer_mk: bytes | None = None) -> HostSecrets:
    """Read `<db>.keys`, creating it (mode 0600) on first use."""
    path = secrets_path(db_path)
    if path.exists():
        data = json.loads(path.read_text())
        return HostSecrets(bytes.fromhex(data["lmk"]), bytes.fromhex(data["issuer_mk"]))
    made = HostSecrets(_secrets.token_bytes(16), issuer_mk or _secrets.token_bytes(16))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"lmk": made.lmk.hex().upper(), "issuer_mk": made.issuer_mk.hex().upper()}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return made
