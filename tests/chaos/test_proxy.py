"""The fault proxy: each toxic against a frame-echoing upstream (bytes, rough timings, counts,
direction), seeded replay, run-time switching from code and over the control interface, the real
host behind a dropped answer, and the `steadypos proxy` command."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from steadypos.chaos.control import call
from steadypos.chaos.proxy import FaultProxy, Toxic, ToxicExists
from steadypos.chaos.toxics import KINDS
from steadypos.host import app as host_app
from steadypos.host.demo_data import demo_data
from steadypos.host.process import steadypos_argv
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.frame import LEN_BYTES, declared_length, split_payloads, with_length
from steadypos.protocol.link import Connection, LinkTimeout

QUIET = 0.4  # how long a client waits before it calls an answer lost


def answer_of(n: int, payload: bytes) -> bytes:
    """What the upstream answers to its n-th frame (counted over all its connections)."""
    return b"re%d:" % n + payload


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


# -- a frame-echoing upstream -----------------------------------------------------------------
@dataclass
class Seen:
    """One connection as the upstream saw it."""

    raw: bytearray = field(default_factory=bytearray)
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (arrival, size) per recv
    end: str = ""  # "eof" or "reset" once over


class Upstream:
    """Answers each frame with `answer_of(n, payload)`; records frames, bytes and chunks."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.frames: list[bytes] = []
        self.conns: list[Seen] = []
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            seen = Seen()
            with self.lock:
                self.conns.append(seen)
                self.open.append(conn)
            threading.Thread(target=self._serve, args=(conn, seen), daemon=True).start()

    def _serve(self, conn: socket.socket, seen: Seen) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except ConnectionResetError:
                    seen.end = "reset"
                    return
                except OSError:
                    seen.end = "closed"
                    return
                if not data:
                    seen.end = "eof"
                    return
                seen.raw += data
                seen.chunks.append((time.monotonic(), len(data)))
                buf += data
                payloads, buf = split_payloads(buf)
                for payload in payloads:
                    with self.lock:
                        self.frames.append(payload)
                        count = len(self.frames)
                    with contextlib.suppress(OSError):
                        conn.sendall(with_length(answer_of(count, payload)))

    def close(self) -> None:
        self.sock.close()
        with self.lock:
            for c in self.open:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)


class Client:
    """A blocking client of the proxy, one frame at a time."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.chunks: list[tuple[float, int]] = []

    def send(self, payload: bytes) -> None:
        self.sock.sendall(with_length(payload))

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError(f"closed after {len(buf)} of {n} bytes")
            self.chunks.append((time.monotonic(), len(chunk)))
            buf += chunk
        return buf

    def recv(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        return self._exact(declared_length(self._exact(LEN_BYTES)))

    def ask(self, payload: bytes, timeout: float = 5.0) -> bytes:
        self.send(payload)
        return self.recv(timeout)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def make_proxy(upstream: Upstream) -> Iterator[Callable[..., FaultProxy]]:
    made: list[FaultProxy] = []

    def make(*toxics: Toxic, seed: int = 1, control: bool = False) -> FaultProxy:
        p = FaultProxy(upstream=("127.0.0.1", upstream.port), listen=("127.0.0.1", 0), seed=seed,
                       control=("127.0.0.1", 0) if control else None)
        for t in toxics:
            p.add(t)
        made.append(p.start())
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def client_of() -> Iterator[Callable[[FaultProxy], Client]]:
    clients: list[Client] = []

    def connect(p: FaultProxy) -> Client:
        clients.append(Client(p.port))
        return clients[-1]

    yield connect
    for c in clients:
        c.close()


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


# -- probability, seed, count, direction ---------------------------------------------------------
def _pattern(make_proxy, seed: int, *extra: Toxic) -> list[bool]:
    """Which of 24 answers a 50% corrupt_byte toxic hit."""
    p = make_proxy(*extra, Toxic("corrupt_byte", probability=0.5, offset=0, xor=0xFF), seed=seed)
    c = Client(p.port)
    try:
        hits = []
        for i in range(24):
            got = c.ask(b"p%02d" % i)
            hits.append(got[:2] != b"re")
    finally:
        c.close()
    assert [e.frame for e in p.events() if e.kind == "corrupt_byte"] == [
        i + 1 for i, h in enumerate(hits) if h]
    return hits


def test_same_seed_same_faults(make_proxy) -> None:
    first = _pattern(make_proxy, 7)
    assert 0 < sum(first) < 24
    assert _pattern(make_proxy, 7) == first
    # Each toxic rolls its own RNG: another toxic in force does not shift the sequence.
    assert _pattern(make_proxy, 7, Toxic("latency", latency_ms=1, jitter_ms=1)) == first
    assert _pattern(make_proxy, 8) != first


def test_count_limits_the_frames_considered(make_proxy, client_of) -> None:
    p = make_proxy(Toxic("corrupt_byte", probability=0.5, count=6, offset=0, xor=0xFF), seed=3)
    c = client_of(p)
    hits = [c.ask(b"q%02d" % i)[:2] != b"re" for i in range(16)]
    assert not any(hits[6:])
    assert sum(hits) == p.injected["corrupt_byte"] == p.status()[0]["injected"]
    assert p.status()[0]["remaining"] == 0


def test_direction_is_respected(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(Toxic("corrupt_byte", offset=0, xor=0xFF),
                   Toxic("latency", direction="upstream", latency_ms=1))
    c = client_of(p)
    got = c.ask(b"intact")
    assert upstream.frames == [b"intact"]  # the downstream toxic left the request alone
    assert got != answer_of(1, b"intact")
    assert {(e.kind, e.direction) for e in p.events()} == {
        ("corrupt_byte", "downstream"), ("latency", "upstream")}


def test_toxic_validation() -> None:
    assert Toxic("drop_response").direction == "downstream"
    assert Toxic("duplicate_request").name == "duplicate_request_upstream"
    for bad in (lambda: Toxic("flood"),
                lambda: Toxic("drop_response", direction="upstream"),
                lambda: Toxic("duplicate_request", direction="downstream"),
                lambda: Toxic("latency", direction="sideways"),
                lambda: Toxic("latency", close=True),
                lambda: Toxic("reset", probability=1.5),
                lambda: Toxic("slice", slice_bytes=0),
                lambda: Toxic("corrupt_byte", target="tail"),
                lambda: Toxic.from_dict({"kind": "latency", "latncy_ms": 5}),
                lambda: Toxic.from_dict({"kind": "corrupt_byte", "offset": True}),
                lambda: Toxic.from_dict({"kind": "latency", "count": "3"}),
                lambda: Toxic.from_dict({"latency_ms": 3})):
        with pytest.raises(ValueError):
            bad()
    t = Toxic("corrupt_byte", target="mac", probability=0.25, count=2)
    assert Toxic.from_dict(t.to_dict()) == t
    p = FaultProxy(upstream=("127.0.0.1", 9), seed=1)
    p.add(Toxic("latency"))
    with pytest.raises(ToxicExists):
        p.add(Toxic("latency"))


# -- switching at run time -------------------------------------------------------------------------
def test_switching_from_code_on_a_live_connection(make_proxy, client_of) -> None:
    p = make_proxy()
    c = client_of(p)
    assert c.ask(b"1") == answer_of(1, b"1")
    p.add(Toxic("latency", latency_ms=300))
    t0 = time.monotonic()
    c.ask(b"2")
    assert time.monotonic() - t0 >= 0.25
    p.add(Toxic("black_hole", name="hole"))
    assert [t.name for t in p.toxics()] == ["latency_downstream", "hole"]
    with pytest.raises(TimeoutError):
        c.ask(b"3", timeout=QUIET)
    p.clear()
    assert p.toxics() == []
    assert c.ask(b"4") == answer_of(3, b"4")
    assert p.injected["latency"] == 1 and p.injected["black_hole"] == 1
    assert [(e.kind, e.direction, e.frame) for e in p.events()] == [
        ("latency", "downstream", 2), ("black_hole", "upstream", 3)]


def test_control_interface(make_proxy, client_of, upstream: Upstream) -> None:
    p = make_proxy(control=True)
    port = p.control_port
    assert port and call(port, "GET", "/toxics") == (200, [])
    status, body = call(port, "POST", "/toxics",
                        {"kind": "drop_response", "count": 1, "name": "lost"})
    assert status == 201 and body["name"] == "lost" and body["direction"] == "downstream"
    assert call(port, "POST", "/toxics", {"kind": "latency", "name": "lost"})[0] == 409
    assert call(port, "POST", "/toxics", {"kind": "latency", "bogus": 1})[0] == 400
    assert call(port, "POST", "/toxics", {"kind": "drop_response", "direction": "upstream"})[
        0] == 400
    c = client_of(p)
    with pytest.raises(TimeoutError):
        c.ask(b"a", timeout=QUIET)
    assert upstream.frames == [b"a"]
    assert call(port, "GET", "/toxics/lost")[1]["remaining"] == 0
    assert call(port, "GET", "/injected")[1]["drop_response"] == 1
    assert call(port, "DELETE", "/toxics/lost") == (204, None)
    assert call(port, "DELETE", "/toxics/lost")[0] == 404
    status, body = call(port, "POST", "/toxics", [{"kind": "black_hole"},
                                                  {"kind": "latency", "latency_ms": 1}])
    assert status == 201 and [t["name"] for t in body] == ["black_hole_upstream",
                                                            "latency_downstream"]
    with pytest.raises(TimeoutError):
        c.ask(b"b", timeout=QUIET)
    assert call(port, "DELETE", "/toxics") == (204, None)
    assert p.toxics() == []
    assert c.ask(b"c") == answer_of(2, b"c")
    status, body = call(port, "GET", "/status")
    assert status == 200 and body["seed"] == 1 and body["frames"]["upstream"] == 3
    assert set(call(port, "GET", "/kinds")[1]) == set(KINDS)
    assert call(port, "GET", "/nowhere")[0] == 404
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"garbage\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400 ")


# -- the real host ---------------------------------------------------------------------------------
@pytest.fixture
def host_port(tmp_path: Path) -> Iterator[int]:
    server = host_app.build(tmp_path / "h.db", tmp_path / "h.db.keys", port=0, seed_demo=True,
                            synchronous="OFF")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        _, port = asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        server.writer.stop()
        loop.close()


def test_real_host_processes_a_sale_whose_answer_is_dropped(host_port: int,
                                                            tmp_path: Path) -> None:
    demo = demo_data()
    t = demo["terminals"][0]
    card = next(c for c in demo["cards"] if c["kind"] == "magstripe"
                and c["status"] == "active" and c["balance"] >= 100_000)
    st = Station(t["tid"], t["mid"])
    with FaultProxy(upstream=("127.0.0.1", host_port), seed=1) as proxy, \
            Connection("127.0.0.1", proxy.port, read_timeout=5) as conn:
        resp = conn.exchange(builders.sign_in(st, 1, 1))
        assert resp.get(39) == "00"
        keys = unpack_key_block(bytes.fromhex(t["tmk"]), bytes.fromhex(resp.get(62)))
        sale = mac.sign(builders.sale(st, 2, 1, 12_345, Card.from_track2(card["track2"]),
                                      card["pin"], keys.pik), keys.mak)
        proxy.add(Toxic("drop_response", direction="downstream", count=1, name="lost"))
        conn.read_timeout = 1.0
        with pytest.raises(LinkTimeout):
            conn.exchange(sale)
        assert wait_until(lambda: proxy.injected["drop_response"] == 1)  # answered, so committed
        with closing(sqlite3.connect(tmp_path / "h.db", timeout=10)) as db:
            rows = db.execute("SELECT rc, rrn, amount FROM txns WHERE tid = ? AND stan = 2",
                              (t["tid"],)).fetchall()
        assert len(rows) == 1 and rows[0][0] == "00" and rows[0][2] == 12_345
        # The terminal asks again on the same connection: the host's stored answer comes back.
        again = conn.exchange(sale)
        assert again.get(39) == "00" and again.get(37) == rows[0][1]
        assert mac.verify(again, keys.mak)
        assert proxy.injected["drop_response"] == 1
        assert proxy.frames == {"upstream": 3, "downstream": 3}


# -- the command -----------------------------------------------------------------------------------
def test_cli_proxies_switches_and_stops(upstream: Upstream) -> None:
    proc = subprocess.Popen(
        steadypos_argv("proxy", "--listen", "0", "--upstream", f"127.0.0.1:{upstream.port}",
                       "--seed", "5", "--toxic",
                       '{"kind": "corrupt_byte", "offset": 0, "xor": 255, "count": 1}'),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.fullmatch(r"proxying 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+) "
                         r"\(control 127\.0\.0\.1:(\d+)\)\n", line)
        assert m, line
        lport, uport, cport = map(int, m.groups())
        assert uport == upstream.port
        c = Client(lport)
        try:
            assert c.ask(b"one")[:2] == bytes([ord("r") ^ 0xFF, ord("e")])
            assert c.ask(b"two") == answer_of(2, b"two")
            assert call(cport, "POST", "/toxics", {"kind": "black_hole"})[0] == 201
            with pytest.raises(TimeoutError):
                c.ask(b"three", timeout=QUIET)
            assert call(cport, "GET", "/injected")[1]["black_hole"] == 1
        finally:
            c.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_stops_on_sigint(upstream: Upstream) -> None:
    proc = subprocess.Popen(steadypos_argv("proxy", "--listen", "0", "--upstream",
                                 f"localhost:{upstream.port}", "--control", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.fullmatch(r"proxying 127\.0\.0\.1:(\d+) -> localhost:(\d+) "
                         r"\(control 127\.0\.0\.1:(\d+)\)\n", line)
        assert m, line
        c = Client(int(m.group(1)))
        try:
            assert c.ask(b"hi") == answer_of(1, b"hi")
        finally:
            c.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert (proc.returncode, out) == (0, ""), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("args", [["--upstream", "nohost"], ["--upstream", "h:99999"],
                                  ["--upstream", "127.0.0.1:1", "--toxic", '{"kind": "x"}']])
def test_cli_bad_arguments(args: list[str]) -> None:
    r = subprocess.run(steadypos_argv("proxy", "--listen", "0", *args), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
