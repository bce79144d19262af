"""Our terminal when strangers sign in in its name (issue 8, point 4; pos-link-v1.1 §4): 0800
carries no MAC, so 3 sign-ins between the terminal's own and its first MAC'd request push the
set it got out of the host's newest 3. The request answered A0 goes once more, same STAN, under
keys the host holds (the set still in force, or a new sign-in's), and moves money once."""

from __future__ import annotations

from contextlib import closing

from rig import CARD, MID, TID, TerminalRig

from steadypos.protocol import builders
from steadypos.protocol.link import Connection
from steadypos.terminal.keystore import KeyStore

STRANGERS = 3  # the host keeps the 3 newest unused sets


def _strangers_sign_in(t: TerminalRig) -> None:
    """Raw 0800 frames in the terminal's name, straight to the host (TID and MID are printed)."""
    with closing(Connection("127.0.0.1", t.host.port)) as conn:
        for n in range(STRANGERS):
            conn.send(builders.sign_in(builders.Station(TID, MID), 990_000 + n, 1))
            assert conn.receive().get(39) == "00"


def _keys(t: TerminalRig) -> KeyStore:
    return KeyStore.load(t.journal.with_name(t.journal.name + ".keys"))


def _sale_goes_through_once(t: TerminalRig, amount: int) -> None:
    before, since = t.host.card_balance(CARD), len(t.proxy.seen)
    ran = t.sale(f"{amount / 100:.2f}")
    assert ran.code == 0, ran.output
    sales = [m for m in t.proxy.seen[since:] if m.mti == "0200"]
    assert len(sales) == 2 and sales[0].get(11) == sales[1].get(11)  # the same request, again
    assert [a.get(39) for a in t.proxy.answers[since:] if a.mti == "0210"] == ["A0", "00"]
    stan = int(sales[0].get(11))
    assert [r["rc"] for r in t.host.txns(stan)] == ["00"]  # the A0 left no row
    assert t.host.card_balance(CARD) == before - amount  # moved once
    assert t.view().txn(stan)["state"] == "approved"


def test_after_strangers_sign_ins_the_sale_goes_under_the_set_in_force(
        signed: TerminalRig) -> None:
    assert signed.sale("1.00").code == 0
    in_force = _keys(signed).working
    signed.sign_in()  # a new set, not used yet
    _strangers_sign_in(signed)
    _sale_goes_through_once(signed, 250)
    keys = _keys(signed)
    assert keys.working == in_force and keys.in_force == in_force  # trading on the old set
    assert [m.mti for m in signed.proxy.seen[-2:]] == ["0200", "0200"]  # no sign-in between
    assert signed.sale("3.00").code == 0


def test_after_strangers_sign_ins_a_first_sale_signs_in_again(signed: TerminalRig) -> None:
    _strangers_sign_in(signed)  # the terminal's first set never used: there is none in force
    _sale_goes_through_once(signed, 400)
    assert [m.mti for m in signed.proxy.seen[-3:]] == ["0200", "0800", "0200"]
    keys = _keys(signed)
    assert keys.working is not None and keys.in_force == keys.working


def test_strangers_sign_ins_do_not_touch_the_set_in_force(signed: TerminalRig) -> None:
    assert signed.sale("1.00").code == 0
    _strangers_sign_in(signed)
    before, since = signed.host.card_balance(CARD), len(signed.proxy.seen)
    assert signed.sale("2.00").code == 0
    assert [m.mti for m in signed.proxy.seen[since:]] == ["0200"]  # nothing sent again
    assert signed.host.card_balance(CARD) == before - 200
