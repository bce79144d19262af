"""`steadypos host` as a process: one ready line, serves, exits 0 on SIGTERM and on SIGINT even with
sales in flight, an idle connection and a half-sent frame, and leaves a balanced ledger. Below
it, the server and group writer when a waiter goes away or a stop comes mid-request."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hostproc import DemoTerminal
from support.processes import host_process, ledger_check
from support.world import rich_cards

from steadypos import logs
from steadypos.host.process import HostProcess, steadypos_argv
from steadypos.host.server import HostServer, check_listen
from steadypos.host.sqlite_store import read_only
from steadypos.host.writer import GroupWriter
from steadypos.protocol import builders
from steadypos.protocol.builders import Station
from steadypos.protocol.codec import Message, decode_payload, encode_frame
from steadypos.protocol.frame import read_payload
from steadypos.protocol.link import LinkError


class Streamer(threading.Thread):
    """One terminal selling 1 yuan after 1 yuan until told to stop or the link fails."""

    def __init__(self, h: HostProcess, index: int) -> None:
        super().__init__(daemon=True)
        self.term = DemoTerminal(h.host, h.port, index)
        self.card = rich_cards()[index]
        self.stop = threading.Event()
        self.approved: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.term.sign_in()
            while not self.stop.is_set():
                req = self.term.sale(100, self.card)
                resp = self.term.exchange(req)
                assert resp.get(39) == "00", resp.get(39)
                self.approved.append(int(req.get(11)))
        except LinkError:
            pass  # the host went away: expected once it is stopped
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.term.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_host_prints_one_line_serves_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    db = tmp_path / "host.db"
    with host_process(db) as h:
        assert re.fullmatch(r"listening on 127\.0\.0\.1:[1-9]\d*\n", h.ready_line)
        with DemoTerminal(h.host, h.port, 0) as t:
            t.sign_in()
            assert t.exchange(t.sale(100, rich_cards()[0])).get(39) == "00"
        streamers = [Streamer(h, i) for i in range(3)]
        for s in streamers:
            s.start()
        idle = socket.create_connection((h.host, h.port))
        half = socket.create_connection((h.host, h.port))
        half.sendall(b"\x00\x40" + b"\x60\x00\x03\x00\x00")  # 5 of the 64 bytes it announces
        deadline = time.monotonic() + 10
        while min(len(s.approved) for s in streamers) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        t0 = time.monotonic()
        rc, rest = h.stop(sig)
        took = time.monotonic() - t0
        for s in streamers:
            s.stop.set()
            s.join(10)
        idle.close()
        half.close()
    assert rc == 0, h.stderr()
    assert rest == "", "nothing but the ready line on stdout"
    assert took < 5, f"stop took {took:.1f}s"
    assert "Traceback" not in h.stderr() and " ERROR " not in h.stderr(), h.stderr()
    for s in streamers:
        assert s.error is None, s.error
        assert len(s.approved) >= 20
    check = ledger_check(db)
    assert check.returncode == 0 and "ledger balanced" in check.stdout, check.stdout
    # What the terminals saw approved is in the database, each exactly once.
    with closing(read_only(db)) as conn:
        for s in streamers:
            rows = conn.execute("SELECT stan, state FROM txns WHERE tid = ? AND kind = 'sale'",
                                (s.term.tid,)).fetchall()
            stored = {stan: state for stan, state in rows}
            assert all(stored.get(stan) == "approved" for stan in s.approved)


def test_host_says_why_it_cannot_start(tmp_path: Path) -> None:
    """A port in use, an address not of this machine, a database it cannot create or one that
    is not SQLite: exit 2 with one error line, no traceback (and no hang: the writer thread's
    failure reaches the command). Where it cannot listen, it says so before it creates a
    database or a key file."""
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(bytes(range(256)) * 20)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cannot_listen = [["--port", str(port)], ["--port", "0", "--metrics-port", str(port)],
                         ["--port", "0", "--bind", "192.0.2.1"],  # TEST-NET-1: not here
                         ["--port", "0", "--bind", "no-such-host.invalid"]]
        for args in cannot_listen:
            run = subprocess.run(steadypos_argv(
                "host", "--db", str(tmp_path / "h.db"), "--keys", str(tmp_path / "h.keys"),
                "--seed-demo", *args), capture_output=True, text=True, timeout=60)
            assert run.returncode == 2 and run.stdout == "", run.stderr
            assert run.stderr.startswith("error: cannot listen on "), run.stderr
            assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1, run.stderr
            assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.db"], args
        for args in (["--db", str(tmp_path / "missing" / "h.db"), "--port", "0"],
                     ["--db", str(garbage), "--port", "0"]):
            run = subprocess.run(steadypos_argv("host", *args), capture_output=True, text=True,
                                 timeout=60)
            assert run.returncode == 2, run.stderr
            assert run.stdout == ""
            assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr, run.stderr


def test_the_listen_check_binds_every_address_of_the_bind() -> None:
    """`--bind ""` listens on all addresses, IPv4 and IPv6: a port taken on IPv6 alone is found
    though the first address getaddrinfo gives (0.0.0.0) is free."""
    try:
        taken = socket.create_server(("::", 0), family=socket.AF_INET6)
    except OSError as exc:
        pytest.skip(f"no IPv6 here: {exc}")
    with taken:
        port = taken.getsockname()[1]
        check_listen("0.0.0.0", port)
        with pytest.raises(OSError, match="in use"):
            check_listen("", port)


# -- the writer and server without a database -------------------------------------------------
class _Store:
    def begin(self) -> None: ...
    def savepoint(self, name: str) -> None: ...
    def release(self, name: str) -> None: ...
    def rollback_to(self, name: str) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class GatedService:
    """Answers an echo with an 0830, but each request first waits for the gate to open."""

    def __init__(self) -> None:
        self.store = _Store()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.handled: list[str] = []

    def handle(self, msg: Message) -> Message:
        self.entered.set()
        assert self.gate.wait(10)
        self.handled.append(msg.get(11))
        return Message("0830", {**msg.fields, 39: "00"}, msg.tpdu.swapped(), msg.header)


def _echo(stan: int) -> Message:
    return builders.echo(Station("T0000001", "898310012345678"), stan, 1)


def _writer(svc: GatedService) -> GroupWriter:
    w = GroupWriter(lambda: svc)  # type: ignore[arg-type, return-value]
    w.start()
    return w


def test_writer_survives_a_cancelled_waiter_and_skips_its_request() -> None:
    svc = GatedService()
    w = _writer(svc)
    try:
        first = w.submit(_echo(1))
        assert svc.entered.wait(5)
        gone = w.submit(_echo(2))
        assert gone.cancel()  # e.g. its connection was cancelled at shutdown
        svc.gate.set()
        assert first.result(5).get(11) == "000001"
        assert w.submit(_echo(3)).result(5).get(11) == "000003", "the writer must live on"
        assert svc.handled == ["000001", "000003"]
    finally:
        svc.gate.set()
        w.stop()


def test_writer_survives_a_cancelled_async_waiter() -> None:
    svc = GatedService()
    w = _writer(svc)

    async def scenario() -> None:
        first = asyncio.create_task(w.request(_echo(1)))
        await asyncio.to_thread(svc.entered.wait, 5)
        gone = asyncio.create_task(w.request(_echo(2)))
        await asyncio.sleep(0.01)
        gone.cancel()
        svc.gate.set()
        assert (await first) is not None
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert (await asyncio.wait_for(w.request(_echo(3)), 5)) is not None

    try:
        asyncio.run(scenario())
        assert svc.handled[0] == "000001" and svc.handled[-1] == "000003"
    finally:
        svc.gate.set()
        w.stop()


def test_stop_answers_a_request_already_with_the_writer() -> None:
    """A stop mid-request still sends that request's answer, then closes; idle peers are closed."""
    svc = GatedService()
    w = _writer(svc)

    async def scenario() -> dict[str, Any]:
        server = HostServer(w, "127.0.0.1", 0)
        host, port = await server.start()
        reader, writer = await asyncio.open_connection(host, port)
        idle_reader, idle_writer = await asyncio.open_connection(host, port)
        writer.write(encode_frame(_echo(7)))
        await writer.drain()
        await asyncio.to_thread(svc.entered.wait, 5)
        stopping = asyncio.create_task(server.stop())
        await asyncio.sleep(0.05)
        svc.gate.set()
        payload = await asyncio.wait_for(read_payload(reader), 5)
        assert payload is not None, "the answer came before the connection closed"
        answer = decode_payload(payload)
        await asyncio.wait_for(stopping, 10)
        out = {"answer": answer, "after": await reader.read(), "idle": await idle_reader.read()}
        writer.close()
        idle_writer.close()
        return out

    try:
        out = asyncio.run(scenario())
    finally:
        svc.gate.set()
        w.stop()
    assert out["answer"].mti == "0830" and out["answer"].get(11) == "000007"
    assert out["after"] == b"" and out["idle"] == b"", "both connections closed after the stop"


def test_a_connection_idle_too_long_is_closed_and_a_busy_one_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One sweeper closes what has waited for a frame longer than IDLE_TIMEOUT; a connection
    that keeps sending stays open."""
    monkeypatch.setattr("steadypos.host.server.IDLE_TIMEOUT", 0.4)
    svc = GatedService()
    svc.gate.set()
    w = _writer(svc)

    async def scenario() -> tuple[bytes, list[str]]:
        server = HostServer(w, "127.0.0.1", 0)
        host, port = await server.start()
        idle_reader, idle_writer = await asyncio.open_connection(host, port)
        reader, writer = await asyncio.open_connection(host, port)
        stans = []
        for stan in range(1, 9):  # 8 x 0.1 s: twice the timeout, never idle that long
            writer.write(encode_frame(_echo(stan)))
            payload = await asyncio.wait_for(read_payload(reader), 5)
            assert payload is not None
            stans.append(decode_payload(payload).get(11))
            await asyncio.sleep(0.1)
        gone = await asyncio.wait_for(idle_reader.read(), 5)
        writer.close()
        idle_writer.close()
        await server.stop()
        return gone, stans

    try:
        gone, stans = asyncio.run(scenario())
    finally:
        w.stop()
    assert gone == b"", "the idle connection was closed"
    assert stans == [f"{n:06d}" for n in range(1, 9)], "the busy one was answered throughout"


def test_writer_lives_on_when_the_log_stream_is_gone(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """A log stream closed under the host (a test's captured stderr) costs log lines, never the
    writer: each group's one flush fails quietly and the answers still come."""
    root = logging.getLogger("steadypos")
    saved = (root.handlers[:], root.level, root.propagate)
    stream = (tmp_path / "stderr").open("w")  # a file, as pytest's capture is: closed, it fails
    monkeypatch.setattr(sys, "stderr", stream)
    logs.setup()
    stream.close()
    svc = GatedService()
    svc.gate.set()
    w = _writer(svc)
    try:
        assert w.submit(_echo(1)).result(5).get(39) == "00"
        assert w.submit(_echo(2)).result(5).get(11) == "000002", "the writer must live on"
    finally:
        w.stop()
        root.handlers[:], root.level, root.propagate = saved
