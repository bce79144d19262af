"""A PostgreSQL that is down at start, or goes away mid-stream (its backends terminated with
pg_terminate_backend): a clear error or a closed connection, never an approval whose postings are
not committed, and the host serves again once the database answers."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hostkit import Host, TestTerminal, rich_card, swipe
from support.pg import PG_URL, pg_schema

from steadypos.host.process import steadypos_argv
from steadypos.host.service import HostService
from steadypos.host.store import open_store
from steadypos.host.writer import GroupWriter
from steadypos.protocol import builders
from steadypos.protocol.codec import Message, decode_frame, encode_frame


class WriterHost(Host):
    """The demo world on PostgreSQL, every request through the group writer as the server
    hands it over (its own connection, which the test cuts)."""

    def __init__(self, url: str, keys: Path) -> None:
        super().__init__(url, keys=keys)
        self.writer = GroupWriter(lambda: HostService(open_store(url), self.secrets))
        self.writer.start()

    def handle(self, msg: Message) -> Message | None:
        resp = self.writer.submit(decode_frame(encode_frame(msg))).result(timeout=30)
        return None if resp is None else decode_frame(encode_frame(resp))

    def close(self) -> None:
        self.writer.stop()
        super().close()


@pytest.fixture
def pg_host(tmp_path: Path) -> Iterator[tuple[WriterHost, str]]:
    tag = f"steadypos_down_{secrets.token_hex(4)}"
    with pg_schema("host_down") as url:
        host = WriterHost(f"{url}&application_name={tag}", tmp_path / "h.keys")
        try:
            yield host, tag
        finally:
            host.close()


def _cut(tag: str) -> int:
    """Terminate every server backend of this test's connections: how many there were."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = %s", (tag,)).fetchall()
    return len(rows)


def test_a_database_cut_mid_stream_approves_nothing_unwritten_and_recovers(
        pg_host: tuple[WriterHost, str]) -> None:
    host, tag = pg_host
    card = rich_card(0)
    term = TestTerminal(host, "T0000001")
    assert term.sign_in().get(39) == "00"
    start = host.card_balance(card)
    assert term.sale(1_000, swipe(card), card["pin"])[1].get(39) == "00"
    assert _cut(tag) >= 2  # the writer's connection and the test's views
    host.store.close()
    host.store = open_store(str(host.db))  # the views read through a new connection

    lost = term.next_stan()
    req = builders.sale(term.station, lost, term.batch, 2_000, swipe(card), card["pin"],
                        term.keys.pik if term.keys else None)
    answer = host.handle_frame(term.frame(req))
    # The request met the dead connection: closed, or 96; never 00 without the postings.
    assert answer is None or answer.get(39) == "96"
    assert host.card_balance(card) == start - 1_000
    assert host.store.txn("T0000001", term.batch, lost, "0200") is None

    # The database answers again: the next request reconnects and is served, and the lost one,
    # sent again, is a new request that moves its money exactly once.
    assert term.sale(3_000, swipe(card), card["pin"])[1].get(39) == "00"
    assert term.send(req).get(39) == "00"
    assert term.send(req).get(39) == "00"  # a repeat: the stored answer, no second posting
    assert host.card_balance(card) == start - 6_000
    assert [p[1] for p in host.postings() if p[1] == "sale"] == ["sale"] * 3


def test_a_database_down_at_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ran = subprocess.run(steadypos_argv("host", "--db", "postgresql://127.0.0.1:1/test",
                                        "--keys", str(tmp_path / "h.keys"), "--port", "0"),
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith("error: cannot open the host database postgresql://127.0.0.1:1")
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
    assert not (tmp_path / "h.keys").exists()  # nothing left behind
