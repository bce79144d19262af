"""Helpers of the host tests: a Host over a fresh store seeded with the demo world, and
TestTerminals that sign in, keep their working keys, and pack + MAC requests as a terminal does.

Every request goes through encode_frame/decode_frame on the way in and out, so the host sees
exactly what it would read off the wire."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from support.pg import pg_schema
from support.world import DEMO, demo_cards, rich_cards, swipe

from steadypos.host import demo_data
from steadypos.host.ledger import merchant_account
from steadypos.host.secrets import HostSecrets, open_keys
from steadypos.host.service import HostService
from steadypos.host.settings import default_keys_path
from steadypos.host.store import StoreUrl, open_store
from steadypos.protocol import builders, emv, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.codec import Message, decode_frame, encode_frame
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.fields import BatchRecord, Field60, Totals, format_batch_records

MID_A = DEMO["terminals"][0]["mid"]
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh host database on `backend`: a SQLite path in `folder`, or a PostgreSQL schema's
    URL (dropped after; the test is skipped, with the reason, when no server answers)."""
    if backend == "sqlite":
        yield str(folder / "h.db")
        return
    with pg_schema("host_test") as url:
        yield url


def rich_card(i: int = 0) -> dict[str, Any]:
    """The i-th active magstripe card with at least 1000 yuan."""
    return rich_cards()[i]


def low_card() -> dict[str, Any]:
    return next(c for c in demo_cards() if c["balance"] < 1000)


def terminal_data(tid: str) -> dict[str, Any]:
    return next(t for t in DEMO["terminals"] if t["tid"] == tid)


class Host:
    """The host in-process: one HostService over one store (a SQLite file, or a PostgreSQL URL
    with `keys`), one transaction per request (as the group writer runs it), plus read-only
    views of balances, postings and txns."""

    def __init__(self, db: Path | str, clock: Callable[[], datetime] = datetime.now,
                 keys: Path | None = None) -> None:
        self.db = db
        self.backend = "sqlite" if StoreUrl.parse(db).is_sqlite else "postgresql"
        self.keys = keys or default_keys_path(db)
        assert self.keys is not None
        self.secrets: HostSecrets = open_keys(self.keys, demo_data.DEMO_ISSUER_MK)
        self.store = open_store(db, synchronous="OFF")
        demo_data.seed(self.store, self.secrets)
        self.service = HostService(self.store, self.secrets, clock)

    def handle_frame(self, frame: bytes) -> Message | None:
        """Exactly these bytes, as the server would read them off the wire."""
        return self.handle(decode_frame(frame))

    def handle(self, msg: Message) -> Message | None:
        resp = self.service.handle_alone(decode_frame(encode_frame(msg)))
        return None if resp is None else decode_frame(encode_frame(resp))

    # -- views -------------------------------------------------------------------------
    def card_account(self, card: dict[str, Any]) -> str:
        row = self.store.card(self.secrets.pan_ref(card["pan"]))
        assert row is not None
        return row.account

    def card_balance(self, card: dict[str, Any]) -> int:
        return self.store.balance(self.card_account(card))

    def card_row(self, card: dict[str, Any]) -> Any:
        return self.store.card(self.secrets.pan_ref(card["pan"]))

    def merchant_balance(self, mid: str = MID_A) -> int:
        return self.store.balance(merchant_account(mid))

    def wallet_balance(self, wallet: str) -> int:
        return self.store.balance(f"wallet:{wallet}")

    def balances(self) -> dict[str, int]:
        return {a: b for a, _, b in self.store.account_balances()}

    def postings(self) -> list[tuple[int, str, str, list[tuple[str, int]]]]:
        """(id, kind, ref, lines) of every posting, in order."""
        return self.store.postings()

    def postings_of(self, kind: str) -> list[tuple[int, str, str, list[tuple[str, int]]]]:
        return [p for p in self.postings() if p[1] == kind]

    def close(self) -> None:
        self.store.close()


class TestTerminal:
    """A terminal reduced to what the host sees: TID/MID, TMK, working keys, batch, STANs."""

    __test__ = False

    def __init__(self, host: Host, tid: str = "T0000001", mid: str | None = None,
                 tmk: str | None = None, alg: mac.MacAlgorithm | None = None) -> None:
        known = next((t for t in DEMO["terminals"] if t["tid"] == tid), None)
        self.host = host
        self.station = Station(tid, mid or (known["mid"] if known else MID_A))
        self.tmk = bytes.fromhex(tmk or (known["tmk"] if known else "11" * 16))
        # The algorithm the terminal MACs with: its registered one unless a test says otherwise.
        self.alg = alg or mac.MacAlgorithm(known["mac"] if known else mac.DEFAULT_MAC)
        self.keys: WorkingKeys | None = None
        self.batch = 1
        self._stans = itertools.count(1)

    @property
    def mid(self) -> str:
        return self.station.mid

    def next_stan(self) -> int:
        return next(self._stans)

    # -- link ------------------------------------------------------------------------------
    def frame(self, msg: Message, keys: WorkingKeys | None = None) -> bytes:
        """The bytes this terminal sends for `msg`: MAC'd (when it carries one) with `keys` or
        ours, under its algorithm."""
        keys = keys or self.keys
        return encode_frame(mac.sign(msg, keys.mak, self.alg) if keys is not None else msg)

    def send(self, msg: Message, keys: WorkingKeys | None = None) -> Message:
        """MAC (when the message carries one) with `keys` or ours, send, check the answer's MAC."""
        keys = keys or self.keys
        resp = self.host.handle_frame(self.frame(msg, keys))
        assert resp is not None, "the host closed instead of answering"
        if mac.needs_mac(resp):
            assert keys is not None and mac.verify(resp, keys.mak, self.alg), \
                "response MAC does not verify"
        else:
            assert 64 not in resp, f"F39 {resp.get(39)} must come back unMACed"
        return resp

    def sign_in(self) -> Message:
        resp = self.host.handle(builders.sign_in(self.station, self.next_stan(), self.batch))
        assert resp is not None
        if resp.get(39) == "00":
            self.keys = unpack_key_block(self.tmk, bytes.fromhex(resp.get(62)))
            self.batch = Field60.parse(resp.get(60)).batch
        return resp

    # -- requests: each returns (request as built, unMACed; response) ------------------------
    def _pik(self, pin: str | None, keys: WorkingKeys | None = None) -> bytes | None:
        """The PIN key a PIN block is made under: given keys, ours, or any (not signed in)."""
        if not pin:
            return None
        return (keys or self.keys or WorkingKeys.fresh()).pik

    def sale(self, amount: int, card: Card, pin: str | None = None, stan: int | None = None,
             keys: WorkingKeys | None = None) -> tuple[Message, Message]:
        req = builders.sale(self.station, stan or self.next_stan(), self.batch, amount, card,
                            pin, self._pik(pin, keys))
        return req, self.send(req, keys)

    def balance(self, card: Card, pin: str) -> tuple[Message, Message]:
        pik = self._pik(pin)
        assert pik is not None
        req = builders.balance(self.station, self.next_stan(), self.batch, card, pin, pik)
        return req, self.send(req)

    def void(self, amount: int, card: Card, orig: tuple[Message, Message],
             rrn: str | None = None, pin: str | None = None,
             orig_batch: int | None = None) -> tuple[Message, Message]:
        orig_req, orig_resp = orig
        req = builders.void(self.station, self.next_stan(), self.batch, amount, card,
                            int(orig_req.get(11)),
                            orig_batch or Field60.parse(orig_req.get(60)).batch,
                            rrn or orig_resp.get(37), orig_resp.get(38) or "000000", pin,
                            self._pik(pin))
        return req, self.send(req)

    def refund(self, amount: int, card: Card, orig: tuple[Message, Message],
               rrn: str | None = None) -> tuple[Message, Message]:
        orig_req, orig_resp = orig
        req = builders.refund(self.station, self.next_stan(), self.batch, amount, card,
                              int(orig_req.get(11)), Field60.parse(orig_req.get(60)).batch,
                              rrn or orig_resp.get(37), orig_resp.get(13))
        return req, self.send(req)

    def reverse(self, original: Message, reason: str = "98",
                auth_code: str = "") -> tuple[Message, Message]:
        req = builders.reversal(original, reason, auth_code)
        return req, self.send(req)

    def settle(self, totals: Totals, batch: int | None = None) -> tuple[Message, Message]:
        req = builders.settle(self.station, self.next_stan(), batch or self.batch, totals)
        return req, self.send(req)

    def upload(self, records: list[BatchRecord], batch: int,
               end_count: int | None = None) -> Message:
        if end_count is not None:
            req = builders.batch_upload(self.station, self.next_stan(), batch,
                                        f"{end_count:04d}", end=True)
        else:
            req = builders.batch_upload(self.station, self.next_stan(), batch,
                                        format_batch_records(records), end=False)
        return self.send(req)


def chip_card(card: dict[str, Any], amount: int, atc: int = 1,
              unpredictable: bytes = b"\x12\x34\x56\x78") -> tuple[Card, dict[str, bytes]]:
    """An inserted chip card for one sale: (reader data with F55, the tags the card sent)."""
    icc_mk = bytes.fromhex(card["icc_mk"])
    txn = emv.ChipTxn(amount, datetime.now().strftime("%y%m%d"), unpredictable)
    icc = emv.card_generate_arqc(icc_mk, atc, txn)
    base = swipe(card)
    return (Card(pan=base.pan, expiry=base.expiry, track2=base.track2, method="05",
                 psn=card["psn"], icc=icc), emv.parse_icc(icc))


# The fields of an approved sale's answer (§3).
SALE_RESPONSE = {2, 3, 4, 11, 12, 13, 15, 25, 32, 37, 38, 39, 41, 42, 44, 49, 60, 63, 64}


def snapshot(host: Host) -> tuple[dict[str, int], int]:
    """Every account's balance, and how many postings there are."""
    return host.balances(), len(host.postings())


def nothing_moved(host: Host, before: dict[str, int], postings: int) -> None:
    """No balance changed and no posting was added since `snapshot` gave these."""
    assert host.balances() == before
    assert len(host.postings()) == postings
