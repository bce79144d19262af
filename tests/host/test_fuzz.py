"""Bad input never takes the host down and never moves money. One host, in this process, takes
random bytes, truncated frames, wrong lengths and mutated MAC'd sales (bit flips in every field,
bad BCD nibbles, bad bitmaps, oversized LLVAR lengths, with the old MAC or a fresh one). Each gets
well-formed answers or a closed connection; after each, an echo still works, and money moved
only where an answer said 00. On each store: a SQLite file, and a fresh PostgreSQL schema."""

from __future__ import annotations

import contextlib
import itertools
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import iso8583
import pytest
from hostkit import BACKENDS, database
from hostproc import DemoTerminal, balances, scrubbed_logs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support.processes import ledger_check
from support.world import DEMO, rich_cards

from steadypos.host.embedded import EmbeddedHost
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Station
from steadypos.protocol.codec import Message, decode_payload, encode_frame
from steadypos.protocol.codes import ResponseCode
from steadypos.protocol.frame import PREFIX_LEN, split_payloads, with_length
from steadypos.protocol.mti import is_response
from steadypos.protocol.spec import BY_NUMBER, SPEC

FUZZ_CARDS = rich_cards()[:5]  # the sixth stays clean for the final sale
TIMEOUT = 10.0
ECHO = encode_frame(builders.echo(Station(DEMO["terminals"][0]["tid"],
                                          DEMO["terminals"][0]["mid"]), 1, 1))


@dataclass
class Target:
    host: EmbeddedHost
    term: DemoTerminal
    stans: Iterator[int]

    @property
    def port(self) -> int:
        return self.host.port

    @property
    def mak(self) -> bytes:
        assert self.term.keys is not None
        return self.term.keys.mak

    def valid_sale(self, pin: bool) -> bytes:
        stan = next(self.stans)
        card = FUZZ_CARDS[stan % len(FUZZ_CARDS)]
        req = self.term.sale(1 + stan % 97, card, stan=stan, pin=pin)
        return encode_frame(mac.sign(req, self.mak))


@pytest.fixture(scope="module", params=BACKENDS)
def target(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("fuzz")
    with database(request.param, folder) as db, scrubbed_logs(), \
            EmbeddedHost(db, seed_demo=True, keys=folder / "host.keys") as host:
        term = DemoTerminal("127.0.0.1", host.port, 0, timeout=TIMEOUT)
        term.sign_in()
        term.close()
        yield Target(host, term, itertools.count(100))


# -- talking to the host ----------------------------------------------------------------------
def send_raw(port: int, data: bytes) -> list[Message]:
    """Send `data`, half-close, read until the host closes; the answers, each checked whole.
    A host that neither answers nor closes fails the test by timing out."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    buf = b""
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break  # closed on us: fine, what came before still counts
            if not chunk:
                break
            buf += chunk
    finally:
        sock.close()
    payloads, cut = split_payloads(buf)
    assert not cut, f"the host sent a cut frame: {cut.hex()}"
    return [decode_payload(p) for p in payloads]


def check_answer(resp: Message, mak: bytes) -> None:
    assert is_response(resp.mti) and resp.mti[3] == "0", resp.mti
    assert resp.get(39) in frozenset(ResponseCode), resp.get(39)
    if 64 in resp:
        assert mac.verify(resp, mak), "the host's own MAC must verify"
    else:
        assert not mac.needs_mac(resp), f"{resp.mti}/{resp.get(39)} lacks its MAC"


def attack(t: Target, data: bytes) -> list[Message]:
    """One hostile connection, then the properties: answers well formed, host still serving,
    money moved only by an approval (and then as one balanced card-to-merchant amount)."""
    before = balances(t.host.db)
    answers = send_raw(t.port, data)
    for resp in answers:
        check_answer(resp, t.mak)
    echo = send_raw(t.port, ECHO)
    assert [r.get(39) for r in echo] == ["00"], "the host must keep serving"
    after = balances(t.host.db)
    assert sum(after.values()) == 0
    moved = {a: after.get(a, 0) - before.get(a, 0) for a in after.keys() | before.keys()}
    moved = {a: d for a, d in moved.items() if d}
    approved = [r for r in answers if r.get(39) == "00"]
    if not approved:
        assert moved == {}, f"money moved without an approval: {moved}"
    else:
        amounts = {int(r.get(4) or 0) for r in approved}
        assert sum(moved.values()) == 0
        assert all(abs(d) in amounts for d in moved.values()), (moved, amounts)
    return answers


# -- frames and mutations ---------------------------------------------------------------------
def spans(frame: bytes) -> dict[str, tuple[int, int, int]]:
    """(start of length prefix, start of data, end) of MTI, bitmap and each field, frame offsets."""
    _, enc = iso8583.decode(frame[PREFIX_LEN:], SPEC)
    out: dict[str, tuple[int, int, int]] = {}
    at = PREFIX_LEN
    for key in ["t", "p"] + sorted((k for k in enc if k.isdigit()), key=int):
        start, data = at, at + len(enc[key]["len"])
        at = data + len(enc[key]["data"])
        out[key] = (start, data, at)
    return out


def remac(frame: bytes, mak: bytes) -> bytes:
    """The same bytes with F64 recomputed over them, as a terminal with the right key would."""
    if len(frame) < PREFIX_LEN + 10 + 8:
        return frame
    return frame[:-8] + mac.compute(mak, frame[PREFIX_LEN:-8])


def flip(frame: bytes, at: int, bit: int) -> bytes:
    b = bytearray(frame)
    b[at] ^= 1 << bit
    return bytes(b)


Mutation = Callable[[Target, Any], bytes]


def random_bytes(t: Target, draw: Any) -> bytes:
    return draw(st.binary(max_size=300))


def framed_garbage(t: Target, draw: Any) -> bytes:
    """A length prefix (right or a little off) and random content, sometimes behind a valid
    TPDU and header so that the ISO body decoder gets it."""
    prefix = draw(st.sampled_from([b"", bytes.fromhex("600003000060310000000000")]))
    payload = prefix + draw(st.binary(max_size=300))
    declared = max(0, len(payload) + draw(st.integers(-3, 3)))
    return declared.to_bytes(2, "big") + payload


def truncated(t: Target, draw: Any) -> bytes:
    frame = t.valid_sale(draw(st.booleans()))
    return frame[:draw(st.integers(0, len(frame) - 1))]


def wrong_length(t: Target, draw: Any) -> bytes:
    frame = t.valid_sale(draw(st.booleans()))
    n = len(frame) - 2
    near = st.integers(n - 6, n + 6).filter(lambda x: x != n)
    declared = draw(st.one_of(st.integers(0, 12), near, st.integers(4097, 0xFFFF)))
    return declared.to_bytes(2, "big") + frame[2:]


def trailing_bytes(t: Target, draw: Any) -> bytes:
    frame = t.valid_sale(draw(st.booleans()))
    return with_length(frame[2:] + draw(st.binary(min_size=1, max_size=20)))


def bit_flips(t: Target, draw: Any) -> bytes:
    frame = t.valid_sale(draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        frame = flip(frame, draw(st.integers(2, len(frame) - 1)), draw(st.integers(0, 7)))
    return remac(frame, t.mak) if draw(st.booleans()) else frame


def bad_bcd(t: Target, draw: Any) -> bytes:
    frame = t.valid_sale(draw(st.booleans()))
    bcd = [k for k in spans(frame)
           if k == "t" or (k.isdigit() and BY_NUMBER[int(k)].content in "nz")]
    start, data, end = spans(frame)[draw(st.sampled_from(bcd))]
    at = draw(st.integers(start, end - 1))  # the length prefix or the digits
    nibble = draw(st.integers(0xA, 0xF))
    b = bytearray(frame)
    b[at] = (b[at] & 0x0F) | nibble << 4 if draw(st.booleans()) else (b[at] & 0xF0) | nibble
    return remac(bytes(b), t.mak) if draw(st.booleans()) else bytes(b)


def bad_bitmap(t: Target, draw: Any) -> bytes:
    frame = t.valid_sale(draw(st.booleans()))
    _, data, end = spans(frame)["p"]
    frame = frame[:data] + draw(st.binary(min_size=8, max_size=8)) + frame[end:]
    return remac(frame, t.mak) if draw(st.booleans()) else frame


def big_llvar(t: Target, draw: Any) -> bytes:
    """An LLVAR/LLLVAR length past the field's maximum, past the frame, or not BCD at all."""
    frame = t.valid_sale(draw(st.booleans()))
    var = {k: v for k, v in spans(frame).items() if v[1] > v[0] and k.isdigit()}
    start, data, _ = var[draw(st.sampled_from(sorted(var)))]
    width = data - start
    length = draw(st.integers(0, 256 ** width - 1))
    frame = frame[:start] + length.to_bytes(width, "big") + frame[data:]
    return remac(frame, t.mak) if draw(st.booleans()) else frame


MUTATIONS: list[Mutation] = [random_bytes, framed_garbage, truncated, wrong_length,
                             trailing_bytes, bit_flips, bad_bcd, bad_bitmap, big_llvar]


# -- the tests --------------------------------------------------------------------------------
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_input_never_stops_the_host_nor_moves_money(target: Target, data: Any) -> None:
    mutate = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    answers = attack(target, mutate(target, data.draw))
    event(f"{mutate.__name__}: {' '.join(r.get(39) for r in answers) or 'closed'}")


@pytest.mark.parametrize("fresh_mac", [False, True], ids=["old MAC", "fresh MAC"])
def test_a_flipped_bit_in_every_field(target: Target, fresh_mac: bool) -> None:
    """Each part of a MAC'd sale with a PIN, from LEN to F64: a low and a high bit of its first
    byte and of its last; with the old MAC the host must say A0 (or close), never approve."""
    parts = {"LEN": (0, 2), "TPDU": (2, 7), "header": (7, 13)}
    parts |= {k: (s, e) for k, (s, _, e) in spans(target.valid_sale(True)).items()}
    for name, (start, end) in parts.items():
        for at, bit in ((start, 0), (start, 7), (end - 1, 0), (end - 1, 7)):
            mutated = flip(target.valid_sale(True), at, bit)  # all sales have the same layout
            answers = attack(target, remac(mutated, target.mak) if fresh_mac else mutated)
            if not fresh_mac and name not in ("LEN", "TPDU", "header"):
                # Outside the MAC only TPDU and header bytes can change and still be approved.
                assert all(r.get(39) != "00" for r in answers), (name, at, bit)


def test_a_30_to_an_unknown_request_carries_a_mac(target: Target) -> None:
    frame = target.valid_sale(False)
    start, data, end = spans(frame)["3"]
    frame = remac(frame[:data] + bytes.fromhex("010000") + frame[end:], target.mak)  # F3 010000
    (resp,) = attack(target, frame)
    assert (resp.mti, resp.get(39)) == ("0210", "30")
    assert 64 in resp and mac.verify(resp, target.mak)


def test_the_host_still_sells_and_balances_after_the_fuzz(target: Target) -> None:
    term = DemoTerminal("127.0.0.1", target.port, 0, timeout=TIMEOUT)
    with term:
        term.sign_in()
        assert term.exchange(term.sale(100, rich_cards()[5])).get(39) == "00"
    check = ledger_check(target.host.db)
    assert check.returncode == 0 and "ledger balanced" in check.stdout, check.stdout
