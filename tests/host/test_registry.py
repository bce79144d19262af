"""host/registry.py, the API the demo data and the TMS use to change terminals (issue 8,
point 2): register, register again, lock, retire; the host answers 03 to a locked or retired
terminal and moves nothing. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hostkit import MID_A, Host, TestTerminal, rich_card, swipe

from steadypos.host import registry
from steadypos.host.registry import MacAlgorithm, RegistryError, TerminalStatus

NEW_TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def _in_txn(host: Host, change: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    host.store.begin()
    try:
        change(host.store, *args, **kwargs)
    except BaseException:
        host.store.rollback()
        raise
    host.store.commit()


def _register(host: Host, **kwargs: Any) -> None:
    _in_txn(host, registry.register_terminal, host.secrets, **kwargs)


def _moved(host: Host) -> tuple[dict[str, int], int]:
    return host.balances(), len(host.postings())


def test_a_new_terminal_is_active_x919_and_not_signed_in(host: Host) -> None:
    _register(host, tid="T0000009", mid=MID_A, tmk=NEW_TMK, txn_limit=10_000)
    info = registry.terminal_info(host.store, "T0000009")
    assert info == registry.TerminalInfo("T0000009", MID_A, MacAlgorithm.X919,
                                         TerminalStatus.ACTIVE, False, 1, 10_000, 0)
    assert not info.legacy
    t = TestTerminal(host, "T0000009", tmk=NEW_TMK.hex())
    assert t.sign_in().get(39) == "00"
    card = rich_card()
    assert t.sale(10_001, swipe(card), card["pin"])[1].get(39) == "61"  # its own limit
    assert t.sale(10_000, swipe(card), card["pin"])[1].get(39) == "00"
    assert "T0000009" in [i.tid for i in registry.terminals(host.store)]
    assert registry.terminal_info(host.store, "T0000099") is None


def test_registering_again_replaces_tmk_and_mac_and_drops_the_keys(host: Host,
                                                                   term: TestTerminal) -> None:
    card = rich_card()
    assert term.sale(1_000, swipe(card), card["pin"])[1].get(39) == "00"
    _register(host, tid="T0000001", mid=MID_A, tmk=NEW_TMK, mac=MacAlgorithm.POS_ECB)
    info = registry.terminal_info(host.store, "T0000001")
    assert info is not None and info.mac == MacAlgorithm.POS_ECB and info.legacy
    assert not info.signed_in and info.key_sets_waiting == 0 and info.batch == 1
    before = _moved(host)
    assert term.sale(1_000, swipe(card), card["pin"])[1].get(39) == "97"  # sign in again
    assert _moved(host) == before
    again = TestTerminal(host, "T0000001", tmk=NEW_TMK.hex(), alg=MacAlgorithm.POS_ECB)
    assert again.sign_in().get(39) == "00"
    assert again.sale(1_000, swipe(card), card["pin"])[1].get(39) == "00"


def test_moving_to_another_merchant_needs_an_empty_open_batch(host: Host,
                                                              term: TestTerminal) -> None:
    other_mid = "898310087654321"
    card = rich_card()
    assert term.sale(1_000, swipe(card), card["pin"])[1].get(39) == "00"
    with pytest.raises(RegistryError, match="settle it"):
        _register(host, tid="T0000001", mid=other_mid, tmk=NEW_TMK)
    assert registry.terminal_info(host.store, "T0000001").mid == MID_A  # type: ignore
    fresh = TestTerminal(host, "T0000002")
    fresh.sign_in()  # a sign-in is no transaction: T0000002's batch is empty
    _register(host, tid="T0000002", mid=other_mid, tmk=NEW_TMK)
    assert registry.terminal_info(host.store, "T0000002").mid == other_mid  # type: ignore


@pytest.mark.parametrize("status", [TerminalStatus.LOCKED, TerminalStatus.RETIRED])
def test_locked_or_retired_gets_03_and_nothing_moves(host: Host, term: TestTerminal,
                                                     status: TerminalStatus) -> None:
    card = rich_card()
    sale = term.sale(2_000, swipe(card), card["pin"])
    _in_txn(host, registry.set_status, "T0000001", status)
    before = _moved(host)
    for resp in (term.sale(1_000, swipe(card), card["pin"])[1],
                 term.void(2_000, swipe(card), sale)[1], term.reverse(sale[0])[1],
                 term.sign_in()):
        assert resp.get(39) == "03" and 64 not in resp
    assert _moved(host) == before
    if status == TerminalStatus.LOCKED:
        _in_txn(host, registry.set_status, "T0000001", TerminalStatus.ACTIVE)
        assert term.void(2_000, swipe(card), sale)[1].get(39) == "00"  # its keys were kept
    else:
        assert not registry.terminal_info(host.store, "T0000001").signed_in  # type: ignore


def test_retired_is_final(host: Host) -> None:
    _in_txn(host, registry.set_status, "T0000003", TerminalStatus.RETIRED)
    for change in (lambda: _in_txn(host, registry.set_status, "T0000003", TerminalStatus.ACTIVE),
                   lambda: _register(host, tid="T0000003", mid="898310087654321", tmk=NEW_TMK)):
        with pytest.raises(RegistryError, match="retired"):
            change()
    assert registry.terminal_info(host.store, "T0000003").status == "retired"  # type: ignore


@pytest.mark.parametrize("kwargs, says", [
    ({"tid": "T01"}, "tid must be 8"),
    ({"mid": "8983100123"}, "mid must be 15"),
    ({"tmk": b"short"}, "tmk must be 16 bytes"),
    ({"mac": "des"}, "mac must be one of"),
    ({"txn_limit": 0}, "txn_limit"),
])
def test_bad_registrations_are_refused_and_change_nothing(host: Host, kwargs: dict[str, Any],
                                                          says: str) -> None:
    given = {"tid": "T0000010", "mid": MID_A, "tmk": NEW_TMK, **kwargs}
    before = registry.terminals(host.store)
    with pytest.raises(RegistryError, match=says):
        _register(host, **given)
    assert registry.terminals(host.store) == before


def test_status_of_an_unknown_terminal(host: Host) -> None:
    with pytest.raises(RegistryError, match="no terminal"):
        _in_txn(host, registry.set_status, "T0000099", TerminalStatus.LOCKED)
    with pytest.raises(RegistryError, match="status must be"):
        _in_txn(host, registry.set_status, "T0000001", "paused")
