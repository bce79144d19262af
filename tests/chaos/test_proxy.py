"""The fault proxy: frames pass unchanged, and each toxic against a frame-echoing upstream (bytes,
rough timings, counts, direction)."""

from __future__ import annotations

import re
import socket
import time

import pytest
from proxykit import QUIET, Client, Upstream, answer_of, wait_until

from steadypos.chaos.proxy import FaultProxy, Toxic
from steadypos.chaos.toxics import KINDS
from steadypos.protocol.frame import with_length


# -- plain passing ---------------------------------------------------------------------------------
def test_frames_pass_unchanged(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy()
    c = client_of(p)
    payloads = [b"a" * 13, b"\x00\xff" * 200, b"z"]
    for i, payload in enumerate(payloads, 1):
        assert c.ask(payload) == answer_of(i, payload)
    assert upstream.frames == payloads
    assert p.frames == {"upstream": 3, "downstream": 3}
    assert set(p.injected) == set(KINDS) and not any(p.injected.values())


def test_a_peer_leaving_mid_frame_is_passed_on(make_proxy, upstream: Upstream) -> None:
    p = make_proxy()
    with socket.create_connection(("127.0.0.1", p.port)) as s:
        s.sendall(with_length(b"x" * 20)[:7])
    assert wait_until(lambda: bool(upstream.conns) and upstream.conns[0].end != "")
    assert bytes(upstream.conns[0].raw) == with_length(b"x" * 20)[:7]
    assert upstream.conns[0].end == "eof" and upstream.frames == []


def test_unreachable_upstream_closes_the_client_and_a_taken_port_raises() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            FaultProxy(upstream=("127.0.0.1", 9), listen=("127.0.0.1", port)).start()
    with FaultProxy(upstream=("127.0.0.1", port), seed=1) as p:  # nothing listens there now
        c = Client(p.port)
        try:
            with pytest.raises(EOFError):
                c.recv(timeout=5)
        finally:
            c.close()


# -- each toxic ------------------------------------------------------------------------------------
@pytest.mark.parametrize("direction", ["upstream", "downstream"])
def test_latency_with_jitter(make_proxy, client_of, direction: str) -> None:
    p = make_proxy(Toxic("latency", direction=direction, latency_ms=200, jitter_ms=50))
    c = client_of(p)
    for i in range(3):
        t0 = time.monotonic()
        c.ask(b"ping%d" % i)
        assert 0.14 < time.monotonic() - t0 < 2.0
    held = [float(re.fullmatch(r"held ([\d.]+) ms", e.detail).group(1)) for e in p.events()]
    assert len(held) == 3 and all(150 <= h <= 250 for h in held)
    assert len(set(held)) == 3  # jitter: each frame draws its own delay
    assert {e.direction for e in p.events()} == {direction}
    assert p.injected["latency"] == 3


def test_black_hole_upstream_swallows_requests(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(Toxic("black_hole"))
    c = client_of(p)
    with pytest.raises(TimeoutError):
        c.ask(b"anyone there", timeout=QUIET)
    assert upstream.frames == []
    assert p.toxics()[0].name == "black_hole_upstream"
    assert p.remove("black_hole_upstream") and not p.remove("black_hole_upstream")
    assert c.ask(b"now?") == answer_of(1, b"now?")  # the swallowed one never reached it


def test_black_hole_downstream_lets_requests_in(make_proxy, client_of, upstream) -> None:
    p = make_proxy(Toxic("black_hole", direction="downstream"))
    c = client_of(p)
    with pytest.raises(TimeoutError):
        c.ask(b"req", timeout=QUIET)
    assert upstream.frames == [b"req"]
    assert p.injected["black_hole"] == 1


def test_drop_response_once_keeps_the_connection(make_proxy, client_of, upstream) -> None:
    p = make_proxy(Toxic("drop_response", direction="downstream", probability=1.0, count=1,
                         name="lost"))
    c = client_of(p)
    with pytest.raises(TimeoutError):
        c.ask(b"first", timeout=QUIET)
    assert upstream.frames == [b"first"]  # the request reached the host
    assert c.ask(b"second") == answer_of(2, b"second")  # same connection, answer flows again
    assert p.injected["drop_response"] == 1
    assert p.status() == [{**Toxic("drop_response", count=1, name="lost").to_dict(),
                           "remaining": 0, "injected": 1}]


def test_drop_response_and_close(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(Toxic("drop_response", close=True))
    c = client_of(p)
    c.send(b"req")
    t0 = time.monotonic()
    with pytest.raises(EOFError):
        c.recv(timeout=5)
    assert time.monotonic() - t0 < 2
    assert upstream.frames == [b"req"]
    assert wait_until(lambda: upstream.conns[0].end == "eof")


def test_reset_downstream_after_the_host_answered(make_proxy, client_of, upstream) -> None:
    p = make_proxy(Toxic("reset"))
    c = client_of(p)
    c.send(b"req")
    with pytest.raises(ConnectionResetError):
        c.recv()
    assert upstream.frames == [b"req"]
    assert wait_until(lambda: upstream.conns[0].end == "reset")


def test_reset_upstream_mid_frame(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(Toxic("reset", direction="upstream", partial_bytes=5))
    c = client_of(p)
    c.send(b"0123456789")
    with pytest.raises(ConnectionResetError):
        c.recv()
    assert wait_until(lambda: bool(upstream.conns) and upstream.conns[0].end == "reset")
    assert bytes(upstream.conns[0].raw) == with_length(b"0123456789")[:5]
    assert upstream.frames == []


def _spread(chunks: list[tuple[float, int]]) -> tuple[int, int, float]:
    """(how many recv calls, largest, seconds from first to last)."""
    return len(chunks), max(n for _, n in chunks), chunks[-1][0] - chunks[0][0]


def test_slice_upstream(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(Toxic("slice", direction="upstream", slice_bytes=4, slice_delay_ms=30))
    c = client_of(p)
    payload = bytes(range(30))  # 32 bytes on the wire: 8 pieces, 7 gaps
    assert c.ask(payload) == answer_of(1, payload)
    assert upstream.frames == [payload]
    calls, largest, spread = _spread(upstream.conns[0].chunks)
    assert calls >= 4 and largest <= 16  # a loaded machine may read a few pieces at once
    assert spread >= 0.15


def test_slice_downstream(make_proxy, client_of) -> None:
    p = make_proxy(Toxic("slice", slice_bytes=3, slice_delay_ms=30))
    c = client_of(p)
    payload = b"s" * 20  # answer: 2 + 4 + 20 bytes = 9 pieces
    assert c.ask(payload) == answer_of(1, payload)
    calls, largest, spread = _spread(c.chunks)
    assert calls >= 4 and largest <= 13
    assert spread >= 0.15


@pytest.mark.parametrize(("forward", "seen_answer"), [("first", 1), ("second", 2)])
def test_duplicate_request(make_proxy, client_of, upstream, forward: str,
                           seen_answer: int) -> None:
    p = make_proxy(Toxic("duplicate_request", count=1, forward=forward))
    c = client_of(p)
    assert c.ask(b"pay 1") == answer_of(seen_answer, b"pay 1")
    assert wait_until(lambda: len(upstream.frames) == 2)
    assert upstream.frames == [b"pay 1", b"pay 1"]
    # The other answer never shows up; the next request gets its own.
    assert c.ask(b"pay 2") == answer_of(3, b"pay 2")
    with pytest.raises(TimeoutError):
        c.recv(timeout=QUIET)
    assert p.injected["duplicate_request"] == 1
    assert p.frames == {"upstream": 2, "downstream": 2}


def test_corrupt_byte_at_an_offset_upstream(make_proxy, client_of, upstream) -> None:
    p = make_proxy(Toxic("corrupt_byte", direction="upstream", offset=3, xor=0x01))
    c = client_of(p)
    sent = b"ABCDEFGH"
    assert c.ask(sent) == answer_of(1, b"ABCEEFGH")  # the host echoes what it got
    assert upstream.frames == [b"ABCEEFGH"]


def test_corrupt_byte_negative_offset_counts_from_the_end(make_proxy, client_of) -> None:
    p = make_proxy(Toxic("corrupt_byte", offset=-1, xor=0xFF))
    c = client_of(p)
    assert c.ask(b"abc") == answer_of(1, b"ab") + bytes([ord("c") ^ 0xFF])
    # An offset past a short frame leaves it alone and is not counted.
    p.clear()
    p.add(Toxic("corrupt_byte", offset=500))
    assert c.ask(b"abc") == answer_of(2, b"abc")
    assert p.injected["corrupt_byte"] == 1


def test_corrupt_byte_in_the_mac(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(Toxic("corrupt_byte", target="mac"))
    c = client_of(p)
    hit: set[int] = set()
    for i in range(1, 13):
        sent = b"request %02d" % i + bytes(8)
        got, want = c.ask(sent), answer_of(i, sent)
        diff = [j for j in range(len(want)) if got[j] != want[j]]
        assert len(got) == len(want) and len(diff) == 1
        assert diff[0] >= len(want) - 8
        hit.add(diff[0] - len(want))
    assert upstream.frames[0] == b"request 01" + bytes(8)  # requests untouched
    assert len(hit) > 2  # random offsets, within the last 8 bytes
