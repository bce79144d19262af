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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steadypos.files import make_private, open_private
from steadypos.protocol.crypto import tdes_decrypt, tdes_encrypt

CONTENT_REF_PREFIX = "k:"  # 1.0 kept unkeyed SHA-256 digests, without the prefix


@dataclass(frozen=True)
class HostSecrets:
    lmk: bytes = field(repr=False)  # keys never printed, repr() included
    issuer_mk: bytes = field(repr=False)  # issuer master key for ARQC (EMV)
    # HMAC-SHA256 keyed with the LMK, copied for each digest: the key is not set up again
    # five times a sale. Where OpenSSL computes it, hmac.HMAC wraps a C object (`_hmac`) with
    # the same copy/update/hexdigest: copied straight, without the wrapper's Python calls.
    _keyed: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keyed = hmac.new(self.lmk, digestmod=hashlib.sha256)
        object.__setattr__(self, "_keyed", getattr(keyed, "_hmac", None) or keyed)

    def seal(self, key: bytes) -> str:
        return tdes_encrypt(self.lmk, key).hex().upper()

    def unseal(self, sealed: str) -> bytes:
        return tdes_decrypt(self.lmk, bytes.fromhex(sealed))

    def _mac(self, purpose: str, *parts: str) -> str:
        mac = self._keyed.copy()
        mac.update("\x1f".join((purpose, *parts)).encode())
        return mac.hexdigest()[:32]

    def pan_ref(self, pan: str) -> str:
        return self._mac("pan", pan)

    def code_ref(self, code: str) -> str:
        return self._mac("qr", code)

    def pin_verifier(self, pan: str, pin: str) -> str:
        return self._mac("pin", pan, pin)

    def track_verifier(self, track2: str) -> str:
        """What the issuer keeps of a magstripe's track 2 (its CVV's role): a swipe must carry
        exactly this track."""
        return self._mac("track2", track2)

    def content_ref(self, content: str) -> str:
        """Keyed, so that a stored request's digest cannot be searched for the PAN it held."""
        return CONTENT_REF_PREFIX + self._mac("content", content)

    def fingerprint(self, *parts: str) -> str:
        return self._mac("fingerprint", *parts)

    def __repr__(self) -> str:
        return "HostSecrets(<hidden>)"


def open_keys(path: str | Path, issuer_mk: bytes | None = None) -> HostSecrets:
    """Read the host's key file at `path`, creating it (mode 0600) on first use. Where it lives
    is the command line's choice (settings.default_keys_path), never derived here."""
    path = Path(path)
    if path.exists():
        make_private(path)
        data = json.loads(path.read_text())
        return HostSecrets(bytes.fromhex(data["lmk"]), bytes.fromhex(data["issuer_mk"]))
    made = HostSecrets(_secrets.token_bytes(16), issuer_mk or _secrets.token_bytes(16))
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w") as fh:
        json.dump({"lmk": made.lmk.hex().upper(), "issuer_mk": made.issuer_mk.hex().upper()}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return made
