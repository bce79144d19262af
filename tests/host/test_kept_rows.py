"""The rows a sale reads and the SQLite store keeps between transactions (its terminal, card and
balances): whatever another connection commits is seen by the next request, and what a rollback
undid is never believed. On PostgreSQL nothing is kept; the same tests hold there."""

from __future__ import annotations

from hostkit import Host, TestTerminal, rich_card, swipe

from steadypos.host.ledger import FUNDING, transfer
from steadypos.host.store import Store, open_store
from steadypos.protocol import builders
from steadypos.protocol.codec import decode_frame
from steadypos.protocol.codes import ResponseCode


def _elsewhere(host: Host) -> Store:
    """A second connection to the host's database, as an operator's command has."""
    return open_store(host.db, synchronous="OFF")


def test_another_connection_s_changes_are_seen_by_the_next_request(host: Host,
                                                                   term: TestTerminal) -> None:
    card = swipe(rich_card())
    assert term.sale(100, card)[1].get(39) == "00"  # terminal, card, balance read (and kept)
    other = _elsewhere(host)
    try:
        account = host.card_account(rich_card())
        other.begin()
        transfer(other, "adjust", "test", account, FUNDING, host.card_balance(rich_card()) - 50)
        other.commit()
        assert host.card_balance(rich_card()) == 50
        assert term.sale(100, card)[1].get(39) == ResponseCode.INSUFFICIENT_FUNDS
        assert term.sale(50, card)[1].get(39) == "00"
        other.begin()
        other.ddl("UPDATE cards SET status = 'blocked' WHERE pan_ref = "
                  f"'{host.secrets.pan_ref(rich_card()['pan'])}'")
        other.commit()
        assert term.sale(1, card)[1].get(39) == ResponseCode.INVALID_CARD
        other.begin()
        other.set_status(term.station.tid, "locked")
        other.commit()
        assert term.sale(1, swipe(rich_card(1)))[1].get(39) == ResponseCode.INVALID_MERCHANT
    finally:
        other.close()
    assert host.card_balance(rich_card()) == 0


def test_what_a_rollback_undid_is_read_again(host: Host, term: TestTerminal) -> None:
    card = swipe(rich_card())
    start = host.card_balance(rich_card())
    assert term.sale(100, card)[1].get(39) == "00"
    # A group the host dies before committing: the 70% it took never happened.
    big = (start - 100) * 7 // 10
    req = builders.sale(term.station, term.next_stan(), term.batch, big, card, None, None)
    assert host.service.handle_alone(decode_frame(term.frame(req)), commit=False) is None
    assert host.card_balance(rich_card()) == start - 100
    # Had the store believed its own undone balance, this would be 51.
    assert term.sale(big, card)[1].get(39) == "00"
    assert host.card_balance(rich_card()) == start - 100 - big
