"""Keys, PIN block and the two MACs of §4: TDES via cryptography's decrepit module, ISO 9564-0 via
psec."""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import psec.pinblock
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from steadypos.protocol.errors import ProtocolError

_local = threading.local()
_CACHED_KEYS = 256  # per thread and kind: the caches never grow with the number of sign-ins
_ZERO_BLOCK = bytes(8)


def _full(key: bytes) -> bytes:
    # Single DES and two-key TDES expressed as three-key TDES (K1K1K1 and K1K2K1), the only
    # form that cryptography keeps without deprecation.
    return key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key


def _cached(kind: str, key: bytes) -> Any:
    """A cipher context of `kind` ("enc", "dec": ECB; "cbc": [CBC encryptor, its chaining
    block]) for `key`, reused within a thread: building one costs more than the few blocks a MAC,
    a PIN block or a sealed key needs. ECB keeps no state between whole blocks; CBC's chaining
    block is undone by the caller (_cbc_last)."""
    cache: dict[tuple[str, bytes], Any] = _local.__dict__.setdefault("ciphers", {})
    ctx = cache.get((kind, key))
    if ctx is None:
        if len(cache) > 3 * _CACHED_KEYS:
            cache.clear()
        if kind == "cbc":
            ctx = [Cipher(TripleDES(_full(key)), modes.CBC(_ZERO_BLOCK)).encryptor(), 0]
        else:
            cipher = Cipher(TripleDES(_full(key)), modes.ECB())
            ctx = cipher.encryptor() if kind == "enc" else cipher.decryptor()
        cache[(kind, key)] = ctx
    return ctx


def _mac_cipher(key: bytes) -> Any:
    """An ECB encryptor for a MAC key (8 bytes: single DES; 16: two-key TDES)."""
    return _cached("enc", key)


def _cbc_last(key: bytes, data: bytes) -> int:
    """The last block of CBC(key, zero IV) over `data` (whole blocks, at least one), as an int.
    The cached encryptor goes on from the last block it put out, so the first block is XORed with
    that block first: the same as a fresh encryptor with a zero IV."""
    ctx = _cached("cbc", key)
    first = (int.from_bytes(data[:8], "big") ^ ctx[1]).to_bytes(8, "big")
    out = ctx[0].update(first + data[8:])
    ctx[1] = int.from_bytes(out[-8:], "big")
    return int(ctx[1])


def _ecb(key: bytes, data: bytes, encrypt: bool) -> bytes:
    if len(data) % 8:
        # Not whole blocks: what cryptography says of it (a fresh context's finalize raises).
        cipher = Cipher(TripleDES(_full(key)), modes.ECB())
        ctx = cipher.encryptor() if encrypt else cipher.decryptor()
        return ctx.update(data) + ctx.finalize()
    return bytes(_cached("enc" if encrypt else "dec", key).update(data))


def tdes_encrypt(key: bytes, data: bytes) -> bytes:
    return _ecb(key, data, True)


def tdes_decrypt(key: bytes, data: bytes) -> bytes:
    return _ecb(key, data, False)


def check_value(key: bytes) -> bytes:
    """First 4 bytes of TDES-ECB(key, 8 zero bytes)."""
    return tdes_encrypt(key, bytes(8))[:4]


def new_key() -> bytes:
    return secrets.token_bytes(16)


@dataclass(frozen=True)
class WorkingKeys:
    """PIN key, MAC key and track-data key, clear, as held in memory after sign-in."""

    pik: bytes
    mak: bytes
    tdk: bytes

    @classmethod
    def fresh(cls) -> WorkingKeys:
        return cls(new_key(), new_key(), new_key())

    def __repr__(self) -> str:  # never print keys
        return "WorkingKeys(<hidden>)"


def pack_key_block(tmk: bytes, keys: WorkingKeys) -> bytes:
    """F62 of the sign-in response: each key under the TMK, followed by its check value."""
    out = b""
    for key in (keys.pik, keys.mak, keys.tdk):
        out += tdes_encrypt(tmk, key) + check_value(key)
    return out


def unpack_key_block(tmk: bytes, block: bytes) -> WorkingKeys:
    """Decipher F62; a check value mismatch fails the sign-in."""
    if len(block) != 60:
        raise ProtocolError(f"working key block is {len(block)} bytes, expected 60", "field 62")
    keys = []
    for i, name in enumerate(("PIK", "MAK", "TDK")):
        chunk = block[i * 20 : i * 20 + 20]
        key = tdes_decrypt(tmk, chunk[:16])
        if not hmac.compare_digest(check_value(key), chunk[16:]):
            raise ProtocolError(f"{name} check value does not match", "field 62")
        keys.append(key)
    return WorkingKeys(*keys)


def pin_block_clear(pin: str, pan: str) -> bytes:
    """ISO 9564 format 0 clear PIN block."""
    return psec.pinblock.encode_pinblock_iso_0(pin, pan)


def encipher_pin(pik: bytes, pin: str, pan: str) -> bytes:
    return tdes_encrypt(pik, pin_block_clear(pin, pan))


def decipher_pin(pik: bytes, block: bytes, pan: str) -> str:
    """The PIN inside an enciphered format 0 block; ValueError when the block is not well formed."""
    return psec.pinblock.decode_pinblock_iso_0(tdes_decrypt(pik, block), pan)


def pos_ecb_mac(mak: bytes, mac_input: bytes) -> bytes:
    """UnionPay "POS ECB" MAC: XOR of 8-byte blocks, hex-expanded, DES twice with the MAK's
    left half.

    Returns the 8 ASCII bytes that F64 carries.
    """
    padded = mac_input + bytes(-len(mac_input) % 8)
    acc = 0
    for i in range(0, len(padded), 8):
        acc ^= int.from_bytes(padded[i:i + 8], "big")
    text = acc.to_bytes(8, "big").hex().upper().encode()
    des = _mac_cipher(mak[:8])
    first = int.from_bytes(des.update(text[:8]), "big") ^ int.from_bytes(text[8:], "big")
    result = des.update(first.to_bytes(8, "big"))
    return result.hex().upper().encode()[:8]


def x919_mac(mak: bytes, mac_input: bytes) -> bytes:
    """ANSI X9.19 retail MAC (ISO/IEC 9797-1 MAC algorithm 3, padding method 1): DES-CBC under
    the MAK's left half with a zero IV, the last block then deciphered under the right half and
    enciphered again under the left. Returns the 8 bytes that F64 carries.

    The final step equals two-key TDES (left, right, left) of the last block XOR the chaining
    value, so the CBC runs under single DES up to the last block and TDES does the rest."""
    padded = mac_input + bytes(-len(mac_input) % 8) if mac_input else _ZERO_BLOCK
    chain = _cbc_last(mak[:8], padded[:-8]) if len(padded) > 8 else 0
    final = chain ^ int.from_bytes(padded[-8:], "big")
    return bytes(_mac_cipher(mak[:16]).update(final.to_bytes(8, "big")))
