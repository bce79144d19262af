"""How many SQL statements a sale costs, counted at the driver on each store (every statement the
connection is given: SQLite's trace callback would also list what a trigger runs), and the group
writer's savepoints: none unless a request of the group fails, which then alone is undone."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from hostkit import Host, TestTerminal, rich_card, swipe

from steadypos.host.schema import RRN_BLOCK
from steadypos.host.service import HostService
from steadypos.host.store import StoreError, open_store
from steadypos.host.writer import Action, GroupWriter, handle
from steadypos.protocol import builders
from steadypos.protocol.codec import Message, decode_frame

# A group of one approved magstripe sale, BEGIN and COMMIT included, between two RRN blocks
# (before this: 18 on each store, with a savepoint, the ensure-account SELECT, the counter's
# SELECT and UPDATE, one statement per posting line and per balance, and the parameters-waiting
# SELECT, now read with the terminal; then 10 and 11). SQLite: BEGIN, PRAGMA data_version (has
# another connection changed anything? else the terminal, card and balance read before stand),
# the idempotency SELECT, the posting, its lines (whose trigger moves the balances), the txn
# row, COMMIT. PostgreSQL:
# BEGIN, the terminal (locked), the idempotency SELECT, the card with its account's row locked,
# the balance, the posting with its lines and shard rows and the txn row in one statement,
# COMMIT.
PER_SALE = {"sqlite": 7, "postgresql": 7}


class _Counting:
    """The driver's connection (or cursor, or the PostgreSQL store's libpq statements), with
    every statement it is given written down."""

    def __init__(self, conn: Any, seen: list[str]) -> None:
        self._conn, self._seen = conn, seen

    def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        self._seen.append(sql)
        return self._conn.execute(sql, *args, **kw)

    def run(self, sql: str, params: Any) -> Any:
        self._seen.append(sql)
        return self._conn.run(sql, params)

    def cursor(self) -> _Counting:
        return _Counting(self._conn.cursor(), self._seen)  # its statements counted too

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class Writer:
    """A group writer on a connection of its own, whose statements are counted once `seen`
    is set; `pipeline`: in PostgreSQL's pipeline mode, as a server on another machine has it
    (on this one a round trip is cheaper than the pipeline)."""

    def __init__(self, host: Host, pipeline: bool = False) -> None:
        self.host, self.pipeline = host, pipeline
        self.statements: list[str] = []
        self.store: Any = None
        self.writer = GroupWriter(self._service)
        self.writer.start()

    def _service(self) -> HostService:
        self.store = open_store(self.host.db, synchronous="OFF")
        if self.pipeline:
            self.store.use_pipeline = True
        return HostService(self.store, self.host.secrets)

    def count(self) -> None:
        self.store.conn = _Counting(self.store.conn, self.statements)
        if self.host.backend == "postgresql":  # outside pipeline mode: straight through libpq
            self.store._statements = _Counting(self.store._statements, self.statements)

    def submit(self, msg: Message, action: Action = handle) -> Future[Message | None]:
        return self.writer.submit(msg, action)


# Each store plainly, and PostgreSQL in pipeline mode too (SQLite has none: no such case).
MODES = pytest.mark.parametrize(("host", "pipeline"), [
    ("sqlite", False), ("postgresql", False), ("postgresql", True)],
    indirect=["host"], ids=["sqlite", "postgresql", "postgresql-pipeline"])


@pytest.fixture
def writer(host: Host, pipeline: bool) -> Iterator[Writer]:
    w = Writer(host, pipeline=pipeline)
    yield w
    w.writer.stop()


def _sale(term: TestTerminal, amount: int, stan: int | None = None) -> Message:
    req = builders.sale(term.station, stan or term.next_stan(), term.batch, amount,
                        swipe(rich_card()), None, None)
    return decode_frame(term.frame(req))


@MODES
def test_a_sale_runs_the_statements_it_needs_and_no_more(host: Host, term: TestTerminal,
                                                         writer: Writer) -> None:
    # The merchant's account, the terminal's new keys put in force, the rows a sale reads.
    for _ in range(2):
        assert writer.submit(_sale(term, 100)).result(10).get(39) == "00"
    writer.count()
    seen = writer.statements
    start = host.card_balance(rich_card())
    for _ in range(RRN_BLOCK):
        assert writer.submit(_sale(term, 100)).result(10).get(39) == "00"
    assert len(seen) == RRN_BLOCK * PER_SALE[host.backend] + 1, "\n".join(seen)
    blocks = [s for s in seen if "counters" in s or "nextval" in s]
    assert len(blocks) == 1, blocks  # one RRN block for 32 answers
    assert not [s for s in seen if "SAVEPOINT" in s]
    assert host.card_balance(rich_card()) == start - 100 * RRN_BLOCK


class _Held:
    """A request that holds the writer's thread until released, so that the requests sent
    meanwhile wait behind it and run as one group; `before(service)` runs as it is released."""

    def __init__(self, before: Any = None) -> None:
        self.gate, self.entered, self.before = threading.Event(), threading.Event(), before

    def __call__(self, service: HostService, msg: Message) -> Message | None:
        self.entered.set()
        assert self.gate.wait(10)
        if self.before is not None:
            self.before(service)
        return service.handle(msg)


@contextlib.contextmanager
def _holding(writer: Writer, msg: Message, before: Any = None) -> Iterator[Future]:
    """Send `msg` as a _Held request; the requests sent inside the block make the next group,
    which runs once the block is left."""
    held = _Held(before)
    try:
        first = writer.submit(msg, held)
        assert held.entered.wait(10)
        yield first
    finally:
        held.gate.set()


def _broken(service: HostService, msg: Message) -> Message | None:
    service.handle(msg)  # moves the money and logs its answer, then fails: it is answered 96
    raise RuntimeError("a fault after the postings")


@MODES
def test_a_failing_request_in_a_group_is_undone_alone(host: Host, term: TestTerminal,
                                                      writer: Writer) -> None:
    start = host.card_balance(rich_card())
    w = writer
    with _holding(w, _sale(term, 100)) as first:
        # These three wait behind the first and run as one group; the middle one fails.
        good1 = w.submit(_sale(term, 200))
        bad_msg = _sale(term, 400)
        bad = w.submit(bad_msg, _broken)  # none of its money may stay
        good2 = w.submit(_sale(term, 800))
    codes = [f.result(10).get(39) for f in (first, good1, bad, good2)]
    assert codes == ["00", "00", "96", "00"]
    assert w.writer.commits == 2 and w.writer.requests == 4
    assert host.card_balance(rich_card()) == start - 1_100
    assert host.store.txn(term.station.tid, term.batch, int(bad_msg.get(11)), "0200") is None
    assert len({p[2] for p in host.postings_of("sale")}) == len(host.postings_of("sale"))


def _lines_of(caplog: pytest.LogCaptureFixture, msg: Message) -> list[str]:
    """The host's log lines that name the request (its TID and STAN)."""
    stan = f"stan={msg.get(11)}"
    return [r.getMessage() for r in caplog.records
            if r.name == "steadypos.host" and msg.get(41) in r.getMessage()
            and stan in r.getMessage()]


@MODES
def test_a_group_run_again_logs_each_request_once(host: Host, term: TestTerminal,
                                                  writer: Writer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The run whose request failed is undone: its lines are not the answers either."""
    caplog.set_level(logging.INFO, logger="steadypos")
    msgs = [_sale(term, 200), _sale(term, 400), _sale(term, 800)]
    with _holding(writer, _sale(term, 100)) as first:
        futures = [writer.submit(m, _broken if i == 1 else handle) for i, m in enumerate(msgs)]
    codes = [f.result(10).get(39) for f in (first, *futures)]
    assert codes == ["00", "00", "96", "00"]
    good, bad = [_lines_of(caplog, m) for m in msgs[::2]], _lines_of(caplog, msgs[1])
    assert [len(lines) for lines in good] == [1, 1] and all("rc=00" in g[0] for g in good)
    assert len(bad) == 1 and "answered 96, nothing kept" in bad[0], bad


@MODES
def test_a_group_whose_commit_fails_logs_each_request_once_as_unanswered(
        host: Host, term: TestTerminal, writer: Writer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="steadypos")

    def commit_fails_once(service: HostService) -> None:
        commit = service.store.commit

        def fails_once() -> None:
            service.store.commit = commit  # type: ignore[method-assign]
            raise StoreError("disk I/O error")

        service.store.commit = fails_once  # type: ignore[method-assign]

    msgs = [_sale(term, 100), _sale(term, 200)]
    with _holding(writer, msgs[0], commit_fails_once) as first:
        second = writer.submit(msgs[1])  # the next group: committed
    answers = [f.result(10) for f in (first, second)]
    assert answers[0] is None and answers[1] is not None and answers[1].get(39) == "00"
    dropped, kept = _lines_of(caplog, msgs[0]), _lines_of(caplog, msgs[1])
    assert len(dropped) == 1 and "commit failed, closed unanswered" in dropped[0], dropped
    assert len(kept) == 1 and "rc=00" in kept[0] and "unanswered" not in kept[0]
