"""The terminal's secure key store (the PIN pad's secure element): TMK, working keys and the key
that seals card numbers in the journal. A 0600 file beside the journal, replaced atomically."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from steadypos.protocol.crypto import WorkingKeys, tdes_decrypt, tdes_encrypt


@dataclass
class KeyStore:
    path: Path
    tmk: bytes
    storage: bytes
    working: WorkingKeys | None = None

    @classmethod
    def create(cls, path: Path, tmk: bytes) -> KeyStore:
        ks = cls(path, tmk, secrets.token_bytes(16))
        ks.save()
        return ks

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        data = json.loads(path.read_text())
        working = None
        if data.get("working"):
            hexes = data["working"]
            working = WorkingKeys(*(bytes.fromhex(hexes[k]) for k in ("pik", "mak", "tdk")))
        return cls(path, bytes.fromhex(data["tmk"]), bytes.fromhex(data["storage"]), working)

    def save(self) -> None:
        data: dict[str, object] = {"tmk": self.tmk.hex(), "storage": self.storage.hex()}
        if self.working is not None:
            data["working"] = {"pik": self.working.pik.hex(), "mak": self.working.mak.hex(),
                               "tdk": self.working.tdk.hex()}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
