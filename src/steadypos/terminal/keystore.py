"""The terminal's secure key store (the PIN pad's secure element): TMK, working keys and the key
that seals card numbers in the journal. A 0600 file beside the journal, replaced atomically.

Only the device key is held in clear (the root a secure element keeps in its own memory); the
TMK, the working keys and the storage key are kept enciphered under it, so that no key a
transaction uses is ever written in clear."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from steadypos.files import make_private, open_private
from steadypos.protocol.crypto import WorkingKeys, tdes_decrypt, tdes_encrypt

_WORKING = ("pik", "mak", "tdk")


@dataclass
class KeyStore:
    path: Path
    tmk: bytes
    storage: bytes
    working: WorkingKeys | None = None
    device: bytes = b""

    def __post_init__(self) -> None:
        if not self.device:
            self.device = secrets.token_bytes(16)

    @classmethod
    def create(cls, path: Path, tmk: bytes) -> KeyStore:
        ks = cls(path, tmk, secrets.token_bytes(16))
        ks.save()
        return ks

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        make_private(path)
        data = json.loads(path.read_text())
        if "device" not in data:  # written before 1.1: keys in clear, sealed at the next save
            working = data.get("working") or None
            return cls(path, bytes.fromhex(data["tmk"]), bytes.fromhex(data["storage"]),
                       WorkingKeys(*(bytes.fromhex(working[k]) for k in _WORKING))
                       if working else None)
        device = bytes.fromhex(data["device"])

        def open_(hex_: str) -> bytes:
            return tdes_decrypt(device, bytes.fromhex(hex_))

        working = None
        if data.get("working"):
            working = WorkingKeys(*(open_(data["working"][k]) for k in _WORKING))
        return cls(path, open_(data["tmk"]), open_(data["storage"]), working, device)

    def save(self) -> None:
        def close(key: bytes) -> str:
            return tdes_encrypt(self.device, key).hex()

        data: dict[str, object] = {"device": self.device.hex(), "tmk": close(self.tmk),
                                   "storage": close(self.storage)}
        if self.working is not None:
            data["working"] = {k: close(getattr(self.working, k)) for k in _WORKING}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def set_working(self, keys: WorkingKeys | None) -> None:
        self.working = keys
        self.save()

    def seal(self, text: str) -> str:
        """Encipher a card number for the journal (digits padded to 8-byte blocks)."""
        raw = text.encode()
        raw += b"\x00" * (-len(raw) % 8)
        return tdes_encrypt(self.storage, raw).hex()

    def unseal(self, sealed: str) -> str:
        return tdes_decrypt(self.storage, bytes.fromhex(sealed)).rstrip(b"\x00").decode()

    def __repr__(self) -> str:
        return f"KeyStore({self.path}, <hidden>)"
