"""The fault proxy under control: seeded replay, counts and direction, run-time switching from
code and over the control interface, the real host behind a dropped answer, and the `steadypos
proxy` command."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from proxykit import QUIET, Client, Upstream, answer_of, wait_until

from steadypos.chaos.control import call
from steadypos.chaos.proxy import FaultProxy, Toxic, ToxicExists
from steadypos.chaos.toxics import KINDS
from steadypos.host.demo_data import demo_data
from steadypos.host.embedded import EmbeddedHost
from steadypos.host.process import steadypos_argv
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.link import Connection, LinkTimeout


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
    with EmbeddedHost(tmp_path / "h.db", synchronous="OFF") as host:
        yield host.port


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
@contextlib.contextmanager
def _proxy_command(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`steadypos proxy --listen 0 ARGS` as a child process, and the first line it printed;
    killed at the end unless the test stopped it."""
    proc = subprocess.Popen(steadypos_argv("proxy", "--listen", "0", *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_proxies_switches_and_stops(upstream: Upstream) -> None:
    with _proxy_command("--upstream", f"127.0.0.1:{upstream.port}", "--seed", "5", "--toxic",
                        '{"kind": "corrupt_byte", "offset": 0, "xor": 255, "count": 1}'
                        ) as (proc, line):
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


def test_cli_stops_on_sigint(upstream: Upstream) -> None:
    with _proxy_command("--upstream", f"localhost:{upstream.port}", "--control", "0"
                        ) as (proc, line):
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


@pytest.mark.parametrize("args", [["--upstream", "nohost"], ["--upstream", "h:99999"],
                                  ["--upstream", "127.0.0.1:1", "--toxic", '{"kind": "x"}']])
def test_cli_bad_arguments(args: list[str]) -> None:
    r = subprocess.run(steadypos_argv("proxy", "--listen", "0", *args), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
