"""Helpers of the host's process-level tests (the host process itself is support.processes'): a
blocking demo terminal that signs in and sells, scrubbed logs, and reads of the ledger beside the
running host (straight from a SQLite file, or on a PostgreSQL connection of the test's own)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from support.world import DEMO, swipe

from steadypos.host.secrets import open_keys
from steadypos.host.settings import default_keys_path
from steadypos.host.sqlite_store import read_only
from steadypos.host.store import Store, StoreUrl, open_store
from steadypos.masking import ScrubFilter
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Station
from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.fields import Field60
from steadypos.protocol.link import Connection


@contextmanager
def scrubbed_logs() -> Iterator[None]:
    """ScrubFilter on every steadypos logger for a while, so that what the host logs in this
    process reaches every handler (pytest's captured logs included) already scrubbed. Logger
    filters are not inherited: each logger that emits gets its own."""
    names = {n for n in logging.Logger.manager.loggerDict if n.startswith("steadypos")}
    added = []
    for name in sorted(names | {"steadypos", "steadypos.host"}):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            f = ScrubFilter()
            logger.addFilter(f)
            added.append((logger, f))
    try:
        yield
    finally:
        for logger, f in added:
            logger.removeFilter(f)


# -- a terminal -------------------------------------------------------------------------------
class DemoTerminal:
    """One demo terminal over a blocking connection: signs in, MACs, sends, reads the answer."""

    def __init__(self, host: str, port: int, index: int = 0, timeout: float = 10.0) -> None:
        t = DEMO["terminals"][index]
        self.station = Station(t["tid"], t["mid"])
        self.tmk = bytes.fromhex(t["tmk"])
        self.alg = mac.MacAlgorithm(t["mac"])
        self.addr = (host, port)
        self.timeout = timeout
        self.keys: WorkingKeys | None = None
        self.batch = 1
        self.stans = itertools.count(1)
        self.conn: Connection | None = None

    def twin(self) -> DemoTerminal:
        """Another connection of this terminal: same keys, same STAN sequence."""
        other = DemoTerminal(*self.addr, timeout=self.timeout)
        other.station, other.tmk, other.keys, other.batch = (self.station, self.tmk, self.keys,
                                                             self.batch)
        other.alg = self.alg
        other.stans = self.stans
        return other

    @property
    def tid(self) -> str:
        return self.station.tid

    def connect(self) -> Connection:
        if self.conn is None:
            self.conn = Connection(*self.addr, connect_timeout=self.timeout,
                                   read_timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def exchange(self, msg: Message) -> Message:
        """Sign (when the message carries a MAC), send, receive; the connection stays open."""
        if self.keys is not None:
            msg = mac.sign(msg, self.keys.mak, self.alg)
        try:
            return self.connect().exchange(msg)
        except OSError:
            self.close()
            raise

    def sign_in(self) -> Message:
        resp = self.exchange(builders.sign_in(self.station, next(self.stans), self.batch))
        assert resp.get(39) == "00", f"sign-in answered {resp.get(39)}"
        self.keys = unpack_key_block(self.tmk, bytes.fromhex(resp.get(62)))
        self.batch = Field60.parse(resp.get(60)).batch
        return resp

    def echo(self) -> Message:
        return self.exchange(builders.echo(self.station, next(self.stans), self.batch))

    def sale(self, amount: int, card: dict[str, Any], stan: int | None = None,
             pin: bool = True) -> Message:
        """The sale request (PIN block under the current PIK), not yet MAC'd."""
        assert self.keys is not None
        return builders.sale(self.station, next(self.stans) if stan is None else stan,
                             self.batch, amount, swipe(card), card["pin"] if pin else None,
                             self.keys.pik if pin else None)

    def __enter__(self) -> DemoTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the ledger, read beside a running host -------------------------------------------------
@contextmanager
def peek(db: Path | str) -> Iterator[Store]:
    """The host's database on a connection of this test's own (SQLite file or PostgreSQL)."""
    with closing(open_store(db)) as store:
        yield store


def balances(db: Path | str) -> dict[str, int]:
    if StoreUrl.parse(db).is_sqlite:
        with closing(read_only(db)) as conn:
            return {a: int(b) for a, b in conn.execute("SELECT id, balance_fen FROM accounts")}
    with peek(db) as store:
        return {a: b for a, _, b in store.account_balances()}


def card_accounts(db: Path | str, keys: Path | None = None) -> dict[str, str]:
    """Demo PAN -> ledger account, through the host's keyed PAN references."""
    secrets = open_keys(keys or default_keys_path(db) or "")
    with peek(db) as store:
        by_ref = {c.pan_ref: c.account for c in store.cards()}
    return {c["pan"]: by_ref[secrets.pan_ref(c["pan"])] for c in DEMO["cards"]}
