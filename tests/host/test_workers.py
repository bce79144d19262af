"""`steadypos host --workers 2` on one PostgreSQL: the same request, a sale with its reversal, and
competing refunds sent at once on several connections (which the two workers share between them)
move each sum at most once; the ledger stays exact. Unique keys and row locks, not process state.
Each worker listens on a socket of its own, so a burst of connections is shared; a worker that
cannot listen stops the host with an error, and so does a second host on the same port; one that
keeps dying young is started again later each time."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hostproc import DemoTerminal
from support.pg import pg_schema
from support.world import rich_cards, swipe

from steadypos.chaos.worker_kills import worker_pids
from steadypos.host import process
from steadypos.host import workers as host_workers  # `workers` is the fixture here
from steadypos.host.ledger import check, merchant_account
from steadypos.host.secrets import open_keys
from steadypos.host.settings import HostSettings
from steadypos.host.store import StoreUrl, open_store
from steadypos.protocol import builders
from steadypos.protocol.codec import Message
from steadypos.protocol.fields import Field60
from steadypos.protocol.link import LinkError

CONNECTIONS = 6


@contextmanager
def two_workers(tmp_path: Path) -> Iterator[tuple[Any, str, int, str, Path]]:
    """A host of 2 worker processes on a fresh PostgreSQL schema: (supervisor, host, port, URL,
    key file); stopped cleanly (exit 0) and the schema dropped afterwards."""
    with pg_schema("host_workers") as url:
        keys = tmp_path / "h.keys"
        proc, host, port = process.start(process.steadypos_argv(
            "host", "--db", url, "--keys", str(keys), "--port", "0", "--workers", "2",
            "--seed-demo"), stderr=open(tmp_path / "host.log", "wb"))  # noqa: SIM115
        try:
            yield proc, host, port, url, keys
        finally:
            assert process.stop(proc) == 0


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, int, str, Path]]:
    with two_workers(tmp_path) as (_proc, host, port, url, keys):
        yield host, port, url, keys


def _at_once(sends: list[Callable[[], Message]]) -> list[Message]:
    """Run each send on its own thread, released together."""
    gate = threading.Barrier(len(sends))
    out: list[Any] = [None] * len(sends)

    def run(i: int) -> None:
        gate.wait()
        out[i] = sends[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sends))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(m, Message) for m in out), "a connection got no answer"
    return out


def _balance(url: str, keys: Path, card: dict[str, Any] | None, mid: str = "") -> int:
    store = open_store(url)
    try:
        if card is None:
            return store.balance(merchant_account(mid))
        row = store.card(open_keys(keys).pan_ref(card["pan"]))
        assert row is not None
        return store.balance(row.account)
    finally:
        store.close()


def test_repeats_reversals_and_refunds_through_two_workers_move_money_once(
        workers: tuple[str, int, str, Path]) -> None:
    host, port, url, keys = workers
    term = DemoTerminal(host, port)
    term.sign_in()
    twins = [term.twin() for _ in range(CONNECTIONS)]
    card = rich_cards()[0]
    start = _balance(url, keys, card)
    merchant_start = _balance(url, keys, None, term.station.mid)

    # The same sale on every connection at once: one posting, one answer repeated.
    sale = term.sale(10_000, card)
    answers = _at_once([lambda t=t: t.exchange(sale) for t in twins])
    assert {(a.get(39), a.get(37)) for a in answers} == {("00", answers[0].get(37))}
    assert _balance(url, keys, card) == start - 10_000

    # Four refunds of 40 yuan against that 100-yuan sale at once: two fit under the cap.
    f60 = Field60.parse(sale.get(60))
    refunds = [builders.refund(term.station, next(term.stans), term.batch, 4_000, swipe(card),
                               int(sale.get(11)), f60.batch, answers[0].get(37),
                               answers[0].get(13)) for _ in range(4)]
    codes = sorted(a.get(39) for a in _at_once(
        [lambda t=t, r=r: t.exchange(r) for t, r in zip(twins, refunds, strict=False)]))
    assert codes == ["00", "00", "13", "13"]
    assert _balance(url, keys, card) == start - 10_000 + 8_000

    # A sale and its reversal at once, each on its own connection, twice each: whatever order
    # they meet in, the card ends where it was.
    other = term.sale(2_500, card)
    reversal = builders.reversal(other, "98", "")
    _at_once([lambda: twins[0].exchange(other), lambda: twins[1].exchange(reversal),
              lambda: twins[2].exchange(other), lambda: twins[3].exchange(reversal)])
    assert _balance(url, keys, card) == start - 2_000
    assert _balance(url, keys, None, term.station.mid) == merchant_start + 2_000

    store = open_store(url)
    try:
        report = check(store)
        assert report.ok, report.problems
    finally:
        store.close()
    for t in (term, *twins):
        t.close()


def test_a_worker_killed_mid_stream_is_replaced_and_no_sale_moves_twice(
        tmp_path: Path) -> None:
    with two_workers(tmp_path) as (proc, host, port, url, keys):
        term = DemoTerminal(host, port)
        term.sign_in()
        card = rich_cards()[1]
        start = _balance(url, keys, card)
        sent = []
        for i in range(12):
            if i == 6:
                victim = worker_pids(proc.pid)[0]
                os.kill(victim, signal.SIGKILL)
            sale = term.sale(100, card)
            sent.append(sale)
            for _attempt in range(5):  # a terminal sends the same request again
                try:
                    assert term.exchange(sale).get(39) == "00"
                    break
                except LinkError:
                    term.close()
                    time.sleep(0.2)
            else:
                pytest.fail("no worker answered after the kill")
        assert victim not in worker_pids(proc.pid) and len(worker_pids(proc.pid)) == 2
        assert _balance(url, keys, card) == start - 100 * len(sent)
        store = open_store(url)
        try:
            assert check(store).ok
        finally:
            store.close()
        term.close()


def _sockets(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` holds."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    return found


def _tcp(port: int, state: str) -> list[int]:
    """The inodes of the IPv4 TCP sockets on local port `port` in `state` (/proc/net/tcp's hex:
    0A listening, 01 established)."""
    rows = [r.split() for r in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return [int(r[9]) for r in rows if int(r[1].split(":")[1], 16) == port and r[3] == state]


def _burst(host: str, port: int, n: int) -> list[socket.socket]:
    """n connections made at once, each from its own thread."""
    gate = threading.Barrier(n)
    conns: list[socket.socket] = []

    def one() -> None:
        gate.wait()
        conns.append(socket.create_connection((host, port), timeout=10))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(conns) == n
    return conns


def test_each_worker_listens_on_its_own_socket_and_a_burst_of_connections_is_shared(
        tmp_path: Path) -> None:
    """One listening socket per worker on the port (SO_REUSEPORT), none held open by the
    supervisor; 32 connections made at once land on both workers (one shared socket gave all 32
    to one worker in 2 of 8 tries)."""
    with two_workers(tmp_path) as (proc, host, port, _url, _keys):
        pids = worker_pids(proc.pid)
        listening = _tcp(port, "0A")
        assert len(listening) == 2
        assert [len(_sockets(pid) & set(listening)) for pid in pids] == [1, 1]
        assert not _sockets(proc.pid) & set(listening)
        assert not any(_sockets(proc.pid) & _sockets(pid) for pid in pids)  # the hold: its own
        conns = _burst(host, port, 32)
        try:
            time.sleep(0.5)  # accepted by the workers' loops
            established = set(_tcp(port, "01"))
            served = sorted(len(_sockets(pid) & established) for pid in pids)
            assert sum(served) == 32 and served[0] >= 4, served
        finally:
            for c in conns:
                c.close()


def test_a_worker_that_cannot_listen_stops_the_host_with_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No 'listening on' and no worker left behind: the supervisor stops the others and raises."""
    first = tmp_path / "first"

    def refuse(address: tuple[str, int]) -> socket.socket:
        try:  # the first worker here listens; the other cannot
            os.close(os.open(first, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            raise OSError("no listening here") from None
        return real(address)

    real = host_workers._listen
    monkeypatch.setattr(host_workers, "_listen", refuse)
    said: list[tuple[str, int]] = []
    with pytest.raises(OSError, match="ended before it listened"):
        host_workers.serve(StoreUrl.parse(str(tmp_path / "h.db")), tmp_path / "h.keys",
                           "127.0.0.1", 0, 2, True, HostSettings(),
                           lambda h, p: said.append((h, p)))  # fmt: skip
    assert said == []
    assert worker_pids(os.getpid()) == []


def test_a_second_host_on_the_port_of_running_workers_is_refused(tmp_path: Path) -> None:
    """Exit 2 with the reason; SO_REUSEPORT alone would have let it join the port and take a share
    of the first host's terminals."""
    with two_workers(tmp_path) as (_proc, _host, port, url, keys):
        second = subprocess.Popen(process.steadypos_argv(
            "host", "--db", url, "--keys", str(keys), "--port", str(port), "--workers", "2"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)  # fmt: skip
        try:
            out, err = second.communicate(timeout=60)
        finally:  # a host that joined the port: stop it and its workers
            with contextlib.suppress(ProcessLookupError):
                os.killpg(second.pid, signal.SIGKILL)
        assert second.returncode == 2 and out == ""
        assert "Address already in use" in err and "Traceback" not in err


def test_restarts_wait_longer_each_time_a_worker_dies_young_and_not_after_a_steady_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(host_workers.time, "monotonic", lambda: clock[0])
    restarts = host_workers._Restarts()
    waits = []
    for _ in range(9):
        restarts.start(0)
        clock[0] += 1.0
        waits.append(restarts.ended(0))
    assert waits == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert restarts.ripe() == [] and restarts.timeout() == 30.0
    clock[0] += 30.0
    assert restarts.ripe() == [0]
    restarts.start(0)
    clock[0] += host_workers.STEADY
    assert restarts.ended(0) == 0.0 and restarts.ripe() == [0]
    restarts.start(0)
    clock[0] += 1.0
    assert restarts.ended(0) == 0.0  # a new run of bad luck starts again at once
    restarts.start(0)
    clock[0] += 1.0
    assert restarts.ended(0) == 0.5


def test_a_worker_that_keeps_failing_after_it_listens_is_not_forked_in_a_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker serves, then fails at once (its event loop's run raises): in 2.5 s the
    supervisor starts it again at once, then after 0.2, 0.4, 0.8 s, ... (a handful of forks, not
    one after another), then stops on SIGTERM with none left behind."""
    def crash(main: Any) -> None:
        main.close()
        raise RuntimeError("cannot serve")

    monkeypatch.setattr(host_workers, "FIRST_DELAY", 0.2)
    monkeypatch.setattr(host_workers, "run", crash)
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("steadypos.host")
    monkeypatch.setattr(logger, "level", logging.WARNING)
    logger.addHandler(handler)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    timer = threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        host_workers.serve(StoreUrl.parse(str(tmp_path / "h.db")), tmp_path / "h.keys",
                           "127.0.0.1", 0, 1, True, HostSettings(), lambda h, p: None)
    finally:
        timer.cancel()
        logger.removeHandler(handler)
        for sig, old in handlers.items():
            signal.signal(sig, old)
    waits = [float(m.rsplit(" in ", 1)[1].split()[0]) for m in said if "starting it again" in m]
    assert 3 <= len(waits) <= 6, said
    assert waits == [0.0] + [0.2 * 2 ** i for i in range(len(waits) - 1)]
    assert worker_pids(os.getpid()) == []


def test_workers_listen_on_an_ipv6_address(tmp_path: Path) -> None:
    """`--bind ::1 --workers 2`: both workers listen there and a terminal signs in and pays."""
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    keys = tmp_path / "h.keys"
    with pg_schema("host_workers_v6") as url:
        proc, host, port = process.start(process.steadypos_argv(
            "host", "--db", url, "--keys", str(keys), "--bind", "::1", "--port", "0",
            "--workers", "2", "--seed-demo"), stderr=open(tmp_path / "host.log", "wb"))  # noqa: SIM115
        try:
            assert host == "::1"
            rows = [r.split() for r in Path("/proc/net/tcp6").read_text().splitlines()[1:]]
            assert len([r for r in rows if int(r[1].split(":")[1], 16) == port
                        and r[3] == "0A"]) == 2
            term = DemoTerminal(host, port)
            term.sign_in()
            assert term.exchange(term.sale(100, rich_cards()[1])).get(39) == "00"
            term.close()
        finally:
            assert process.stop(proc) == 0
