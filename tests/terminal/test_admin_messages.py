"""Our terminal under pos-link-v1.1's key and admin rules (issue 8, point 5): it MACs settlement
and batch upload and checks their answers' MACs, and it keeps trading when a sign-in's answer is
lost (the keys in use stay in force until a newer set is used)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from rig import CARD, CARD2, MID, TID, TerminalRig

from steadypos.host.sqlite_store import read_only
from steadypos.protocol import mac
from steadypos.terminal.commands import terminal_app
from steadypos.terminal.keystore import KeyStore


def _mak(t: TerminalRig) -> bytes:
    working = KeyStore.load(t.journal.with_name(t.journal.name + ".keys")).working
    assert working is not None
    return working.mak


def test_a_lost_sign_in_answer_does_not_stop_the_terminal(signed: TerminalRig) -> None:
    assert signed.sale("1.00").code == 0
    kept = _mak(signed)
    signed.proxy.set("swallow", "0800")  # the host issues a set, the answer never arrives
    ran = signed.cli("sign-in")
    assert ran.code == 1 and "sign-in failed" in ran.data["message"]
    signed.proxy.set("forward")
    assert _mak(signed) == kept
    before = signed.host.card_balance(CARD)
    assert signed.sale("2.00").code == 0  # approved with the keys in use
    assert signed.host.card_balance(CARD) == before - 200


def test_settlement_and_batch_upload_are_maced(signed: TerminalRig) -> None:
    assert signed.sale("3.00").code == 0
    assert signed.sale("4.00", card=CARD2).code == 0
    # Make the totals differ: the host has a sale the journal shows declined.
    first = signed.view().txns[0]
    assert first["kind"] == "sale"
    with signed.open() as term:
        term.journal.conn.execute("UPDATE txns SET state = 'declined' WHERE id = ?",
                                  (first["id"],))
    since = len(signed.proxy.seen)
    ran = signed.cli("settle")
    assert ran.code == 0 and ran.data["uploaded"] == 1, ran.output
    sent = signed.proxy.seen[since:]
    assert [m.mti for m in sent] == ["0500", "0320", "0320"]
    mak = _mak(signed)
    assert all(64 in m and mac.verify(m, mak) for m in sent)
    assert all(64 in a and mac.verify(a, mak) for a in signed.proxy.answers[-3:])


def test_a_settlement_answer_with_a_bad_mac_is_sent_again(signed: TerminalRig) -> None:
    assert signed.sale("5.00").code == 0
    signed.proxy.set("flip_mac", "0500")
    ran = signed.cli("settle")
    assert ran.code == 1 and "failed its MAC check" in ran.data["message"], ran.output
    signed.proxy.set("forward")
    assert signed.view().counters["batch"] == 1  # not closed on an answer it cannot trust
    ran = signed.cli("recover")
    assert ran.code == 0, ran.output
    assert any("settlement re-sent" in line for line in ran.data["recovered"])
    assert signed.view().counters["batch"] == 2
    assert [m.mti for m in signed.proxy.seen[-3:]] == ["0500", "0800", "0500"]
    settles = [m for m in signed.proxy.seen if m.mti == "0500"]
    assert settles[-1].get(11) == settles[-2].get(11)  # the same settlement: the stored answer


def test_init_keeps_the_mac_algorithm(tmp_path: Path) -> None:
    def init(name: str, *extra: str) -> tuple[int, str]:
        result = TerminalRig.runner.invoke(terminal_app, [
            "init", "--journal", str(tmp_path / name), "--host", "127.0.0.1", "--port", "1",
            "--tid", TID, "--mid", MID, "--tmk", "11" * 16, "--json", *extra])
        return result.exit_code, result.stdout

    assert init("default.db")[0] == 0
    assert init("legacy.db", "--mac", "pos_ecb")[0] == 0
    assert init("bad.db", "--mac", "des")[0] == 2 and not (tmp_path / "bad.db").exists()
    for name, alg in (("default.db", "x919"), ("legacy.db", "pos_ecb")):
        with closing(read_only(tmp_path / name)) as conn:
            assert conn.execute("SELECT value FROM config WHERE key = 'mac'").fetchone() == (alg,)
