"""The keyed digests the host stores (card, QR, PIN and track references) never change: the same
text as the standard library's HMAC-SHA256 gives, whether the host copies OpenSSL's keyed object
directly or (where there is none) hmac.HMAC's wrapper."""

from __future__ import annotations

import hashlib
import hmac

from steadypos.host.secrets import HostSecrets

LMK = bytes(range(16))
PAN, PIN, TRACK2 = "6222020000000123", "123456", "6222020000000123=30122010000000000000"


def _expected(*parts: str) -> str:
    return hmac.new(LMK, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def _digests(s: HostSecrets) -> list[str]:
    return [s.pan_ref(PAN), s.code_ref("2812345678901234"), s.pin_verifier(PAN, PIN),
            s.track_verifier(TRACK2)]  # fmt: skip


WANT = [_expected("pan", PAN), _expected("qr", "2812345678901234"), _expected("pin", PAN, PIN),
        _expected("track2", TRACK2)]  # fmt: skip


def test_the_digests_are_the_standard_hmac_sha256() -> None:
    secrets = HostSecrets(LMK, bytes(16))
    assert _digests(secrets) == WANT
    assert _digests(secrets) == WANT  # the keyed object is copied, not used up


def test_the_wrapper_gives_the_same_digests_where_openssl_has_no_keyed_object() -> None:
    secrets = HostSecrets(LMK, bytes(16))
    object.__setattr__(secrets, "_keyed", hmac.new(LMK, digestmod=hashlib.sha256))
    assert _digests(secrets) == WANT
