"""The TMS's release key (Ed25519): made at first start beside the CA (`release.key`, mode 0600),
it signs every release's manifest; its public key reaches terminals at activation. The manifest
format is the terminal's (terminal/releases.py): one line each for format, version and sha256."""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from steadypos.terminal.releases import manifest

KEY_FILE = "release.key"


@dataclass(frozen=True)
class ReleaseKey:
    _key: Ed25519PrivateKey

    @classmethod
    def load_or_create(cls, folder: Path) -> ReleaseKey:
        path = folder / KEY_FILE
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                    fh.flush()
                    os.fsync(fh.fileno())
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} is readable by others; it must be mode 0600")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    @property
    def public_pem(self) -> str:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, version: str, sha256: str) -> str:
        return base64.b64encode(self._key.sign(manifest(version, sha256))).decode()

    def __repr__(self) -> str:
        return "ReleaseKey(<private key hidden>)"
