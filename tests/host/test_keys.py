"""Keys and admin messages under pos-link-v1.1 (issue 8, points 1, 4, 8): each terminal's MAC
algorithm, key rollover (§4), MAC'd settlement, batch upload and sign-out, and per-terminal key
memory that stays bounded however many sign-ins come."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hostkit import Host, TestTerminal, rich_card, swipe

from steadypos.host import registry
from steadypos.protocol import builders, mac
from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import unpack_key_block
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import BatchRecord, Totals, format_batch_records

X919, POS_ECB = mac.MacAlgorithm.X919, mac.MacAlgorithm.POS_ECB


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(tmp_path: Path, clock: Clock) -> Host:
    h = Host(tmp_path / "h.db", clock=clock)
    yield h  # type: ignore[misc]
    h.close()


def _moved(host: Host) -> tuple[dict[str, int], int]:
    return host.balances(), len(host.postings())


# -- the MAC algorithm is the terminal's registered one (point 1) -----------------------------
@pytest.mark.parametrize("tid, registered, other", [("T0000001", X919, POS_ECB),
                                                    ("T0000004", POS_ECB, X919)])
def test_the_other_algorithm_gets_a0(host: Host, tid: str, registered: mac.MacAlgorithm,
                                     other: mac.MacAlgorithm) -> None:
    info = registry.terminal_info(host.store, tid)
    assert info is not None and info.mac == registered and info.legacy == registered.weak
    card = rich_card()
    wrong = TestTerminal(host, tid, alg=other)
    assert wrong.sign_in().get(39) == "00"  # 0800 carries no MAC
    before = _moved(host)
    req = builders.sale(wrong.station, wrong.next_stan(), wrong.batch, 1_000, swipe(card))
    resp = host.handle_frame(wrong.frame(req))
    assert resp is not None and resp.get(39) == "A0" and 64 not in resp
    assert _moved(host) == before
    right = TestTerminal(host, tid)
    right.keys, right.batch = wrong.keys, wrong.batch
    _, resp = right.sale(1_000, swipe(card))
    assert resp.get(39) == "00" and mac.verify(resp, right.keys.mak, registered)  # type: ignore


# -- key rollover (§4, point 4) ------------------------------------------------------------------
def test_a_strangers_sign_in_does_not_stop_the_terminals_keys(host: Host,
                                                              term: TestTerminal) -> None:
    card = rich_card()
    assert term.sale(500, swipe(card), card["pin"])[1].get(39) == "00"  # its keys are in use
    for stan in range(900, 905):  # someone who read TID and MID off a receipt, five times
        resp = host.handle(builders.sign_in(term.station, stan, 1))
        assert resp is not None and resp.get(39) == "00"
        with pytest.raises(ProtocolError):  # the keys are of no use without the TMK
            unpack_key_block(bytes.fromhex("22" * 16), bytes.fromhex(resp.get(62)))
    _, resp = term.sale(1_000, swipe(card), card["pin"])
    assert resp.get(39) == "00"
    info = registry.terminal_info(host.store, "T0000001")
    assert info is not None and info.signed_in and info.key_sets_waiting == 3


def test_a_lost_sign_in_answer_leaves_the_terminal_trading(host: Host,
                                                           term: TestTerminal) -> None:
    card = rich_card()
    kept = term.keys
    assert term.sign_in().get(39) == "00"  # the answer "is lost": the terminal keeps its keys
    term.keys = kept
    assert term.sale(1_000, swipe(card), card["pin"])[1].get(39) == "00"
    assert term.sale(2_000, swipe(card), card["pin"])[1].get(39) == "00"


def test_using_a_newer_set_kills_every_older_one(host: Host, term: TestTerminal) -> None:
    card = rich_card()
    sets = [term.keys]
    for _ in range(3):
        term.sign_in()
        sets.append(term.keys)
    # The second newest is used first: it goes into force; older sets die, the newest waits.
    assert term.sale(1_000, swipe(card), keys=sets[2])[1].get(39) == "00"
    before = _moved(host)
    for dead in (sets[0], sets[1]):
        assert term.sale(1_000, swipe(card), keys=dead)[1].get(39) == "A0"
    assert _moved(host) == before
    assert term.sale(1_000, swipe(card), keys=sets[3])[1].get(39) == "00"
    assert term.sale(1_000, swipe(card), keys=sets[2])[1].get(39) == "A0"


def test_at_most_three_unused_sets_for_at_most_a_day(timed: Host, clock: Clock) -> None:
    card = rich_card()
    term = TestTerminal(timed, "T0000001")
    term.sign_in()
    first = term.keys
    assert term.sale(1_000, swipe(card))[1].get(39) == "00"  # `first` is in force
    issued = []
    for _ in range(4):
        term.sign_in()
        issued.append(term.keys)
    assert registry.terminal_info(timed.store, "T0000001").key_sets_waiting == 3  # type: ignore
    assert term.sale(1_000, swipe(card), keys=issued[0])[1].get(39) == "A0"  # the 4th oldest
    clock.at += timedelta(hours=24, seconds=1)
    assert term.sale(1_000, swipe(card), keys=issued[3])[1].get(39) == "A0"  # too old now
    assert term.sale(1_000, swipe(card), keys=first)[1].get(39) == "00"  # in force: no limit


def test_unused_sets_alone_count_as_signed_in(timed: Host, clock: Clock) -> None:
    term = TestTerminal(timed, "T0000002")
    term.sign_in()
    assert term.sale(500, swipe(rich_card()))[1].get(39) == "00"
    other = TestTerminal(timed, "T0000001")
    other.sign_in()
    clock.at += timedelta(hours=25)
    req = builders.sale(other.station, other.next_stan(), other.batch, 500, swipe(rich_card()))
    resp = timed.handle_frame(other.frame(req))
    assert resp is not None and resp.get(39) == "97"  # its only set expired unused


# -- MAC'd admin messages (1.1) ------------------------------------------------------------------
def _stranger_sends(host: Host, msg: Message, with_mac: str | None) -> Message:
    if with_mac is not None:
        msg.fields[64] = with_mac
    resp = host.handle(msg)
    assert resp is not None
    return resp


@pytest.mark.parametrize("with_mac", [None, "0123456789ABCDEF"], ids=["no MAC", "made-up MAC"])
def test_strangers_cannot_sign_out_settle_or_upload(host: Host, term: TestTerminal,
                                                    with_mac: str | None) -> None:
    card = rich_card()
    sale = term.sale(3_000, swipe(card), card["pin"])
    st = term.station
    admin = [builders.sign_out(st, 900, term.batch),
             builders.settle(st, 901, term.batch, Totals(3_000, 1)),
             builders.batch_upload(st, 902, term.batch, format_batch_records(
                 [BatchRecord(int(sale[0].get(11)), card["pan"], 3_000)]), end=False),
             builders.batch_upload(st, 903, term.batch, "0001", end=True)]
    for msg in admin:
        resp = _stranger_sends(host, msg, with_mac)
        assert resp.get(39) == "A0" and 64 not in resp, msg.mti
    info = registry.terminal_info(host.store, "T0000001")
    assert info is not None and info.signed_in and info.batch == 1
    assert host.store.upload_diffs() == [] and not host.store.settled("T0000001", 1)
    # The batch is still open and the terminal still signed in: a void still works.
    assert term.void(3_000, swipe(card), sale)[1].get(39) == "00"


def test_the_terminal_signs_itself_out(host: Host, term: TestTerminal) -> None:
    resp = term.send(builders.sign_out(term.station, term.next_stan(), term.batch))
    assert resp.mti == "0830" and resp.get(39) == "00" and 64 in resp
    info = registry.terminal_info(host.store, "T0000001")
    assert info is not None and not info.signed_in and info.key_sets_waiting == 0
    _, resp = term.sale(100, swipe(rich_card()))
    assert resp.get(39) == "97"


def test_echo_needs_no_mac(host: Host) -> None:
    t = TestTerminal(host, "T0000003")
    resp = host.handle(builders.echo(t.station, 1, 1))
    assert resp is not None and resp.get(39) == "00" and 64 not in resp


# -- bounded memory (point 8) ---------------------------------------------------------------------
def test_the_clear_key_cache_stays_bounded_per_terminal(host: Host) -> None:
    """1.0 cached three unsealed keys per sign-in, for ever. Now: at most the set in force and
    the 3 unused ones, per registered terminal; strangers' TIDs add nothing."""
    card = rich_card()
    term = TestTerminal(host, "T0000001")
    for i in range(300):
        term.sign_in()
        if i % 7 == 0:
            assert term.sale(100, swipe(card))[1].get(39) == "00"
    for i in range(300):
        stranger = TestTerminal(host, f"X{i:07d}", mid="898310012345678")
        assert stranger.sign_in().get(39) == "03"
    cached = host.service.keyring.cached_sets()
    assert set(cached) <= {"T0000001"} and cached["T0000001"] <= 4
    assert len(host.store.key_sets("T0000001")) == 3
