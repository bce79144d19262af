"""The terminal's secure key store (the PIN pad's secure element): TMK, working keys and the key
that seals card numbers in the journal. A 0600 file beside the journal, replaced atomically.

Only the device key is held in clear (the root a secure element keeps in its own memory); the
TMK, the working keys and the storage key are kept enciphered under it, so that no key a
transaction uses is ever written in clear.

Beside the working keys it keeps the set in force: the last set a host's answer verified under.
After a sign-in that set stays the host's until a request under the new set verifies (§4), so a
request the host refused (A0) under a new set it never confirmed can go again under it."""

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
    in_force: WorkingKeys | None = None

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

        def keys(name: str) -> WorkingKeys | None:
            held = data.get(name)
            return WorkingKeys(*(open_(held[k]) for k in _WORKING)) if held else None

        return cls(path, open_(data["tmk"]), open_(data["storage"]), keys("working"), device,
                   keys("in_force"))

    def save(self) -> None:
        def close(key: bytes) -> str:
            return tdes_encrypt(self.device, key).hex()

        data: dict[str, object] = {"device": self.device.hex(), "tmk": close(self.tmk),
                                   "storage": close(self.storage)}
        for name, keys in (("working", self.working), ("in_force", self.in_force)):
            if keys is not None:
                data[name] = {k: close(getattr(keys, k)) for k in _WORKING}
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

    def confirm(self) -> None:
        """An answer verified under the working keys: the host uses them now, older sets die."""
        if self.working is not None and self.in_force != self.working:
            self.in_force = self.working
            self.save()

    @property
    def unconfirmed(self) -> bool:
        """Whether the working keys are a set no host answer has verified under yet."""
        return self.working is not None and self.working != self.in_force

    @property
    def fallback(self) -> WorkingKeys | None:
        """The set in force, when the working keys are a newer set the host never confirmed."""
        if self.in_force is None or self.working is None or self.in_force == self.working:
            return None
        return self.in_force

    def fall_back(self) -> None:
        """The host refused the new set (A0): trade on the set in force again."""
        assert self.fallback is not None
        self.set_working(self.in_force)

    def seal(self, text: str) -> str:
        """Encipher a card number for the journal (digits padded to 8-byte blocks)."""
        raw = text.encode()
        raw += b"\x00" * (-len(raw) % 8)
        return tdes_encrypt(self.storage, raw).hex()

    def unseal(self, sealed: str) -> str:
        return tdes_decrypt(self.storage, bytes.fromhex(sealed)).rstrip(b"\x00").decode()

    def __repr__(self) -> str:
        return f"KeyStore({self.path}, <hidden>)"
