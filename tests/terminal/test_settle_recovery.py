"""Settlement is a journaled flow too: a terminal that dies after the host closed its batch
finishes the settlement on restart and never trades in the closed batch again."""

from __future__ import annotations

from contextlib import closing

import pytest
from rig import KILLED, TID, TerminalRig

from steadypos.host.sqlite_store import read_only


@pytest.mark.parametrize("step", ["request_sent", "response_received"])
def test_settlement_killed_after_sending_is_finished_by_recover(signed: TerminalRig,
                                                                step: str) -> None:
    assert signed.sale("10.00").code == 0
    killed = signed.spawn("settle", kill_at=step)
    assert killed.code == KILLED, killed.output
    settle = [t for t in signed.view().txns if t["kind"] == "settle"][-1]
    assert settle["batch"] == 1 and settle["state"] == "in_progress"

    ran = signed.cli("recover")
    assert ran.code == 0, ran.output
    assert any("settlement re-sent" in line and "balanced" in line for line in ran.recovered)
    view = signed.view()
    settle = next(t for t in view.txns if t["id"] == settle["id"])
    assert settle["state"] == "approved"
    # The host answered the same settlement again (same STAN): one settlement, batch closed.
    assert [r["mti"] for r in signed.host.txns(stan=settle["stan"])] == ["0500"]

    sale = signed.sale("5.00")
    assert sale.code == 0 and sale.data["batch"] == "000002"


def test_settlement_killed_before_sending_leaves_the_batch_open(signed: TerminalRig) -> None:
    assert signed.sale("10.00").code == 0
    assert signed.spawn("settle", kill_at="flow_started").code == KILLED
    assert signed.cli("recover").code == 0
    assert signed.sale("5.00").data["batch"] == "000001"
    done = signed.cli("settle")
    assert done.code == 0 and done.data["balanced"] is True


def _settlements(rig: TerminalRig) -> list[tuple[str, int]]:
    with closing(read_only(rig.host.db)) as conn:
        return conn.execute("SELECT tid, batch FROM settlements ORDER BY rowid").fetchall()


def test_a_settlement_that_could_not_connect_is_sent_by_recover_once(signed: TerminalRig) -> None:
    """The message says `recover` sends it: it does, the host settles the batch once, and a
    second recover (or settle) finds nothing more to send."""
    assert signed.sale("10.00").code == 0
    signed.proxy.down()
    failed = signed.cli("settle")
    assert failed.code == 1 and "run recover when the link is back" in failed.data["message"]
    assert "batch 000001 stays open" in failed.data["message"]
    assert _settlements(signed) == []
    status = signed.cli("status", "--lang", "en", as_json=False)
    assert "Settlement of batch 000001 not sent yet" in status.output
    assert signed.cli("status").data["settlement_waiting"] is True
    assert signed.cli("settle").code == 1  # tried again while down: still the one settlement
    waiting = [t for t in signed.view().txns if t["kind"] == "settle"]
    assert [(t["state"], t["step"]) for t in waiting] == [("failed", "send_pending")]

    signed.proxy.up()
    ran = signed.cli("recover")
    assert ran.code == 0 and ran.data["message"] == "recovered", ran.output
    assert any("settlement sent" in line and "batch 000001 settled" in line
               for line in ran.recovered), ran.recovered
    assert _settlements(signed) == [(TID, 1)]
    settle = next(t for t in signed.view().txns if t["id"] == waiting[0]["id"])
    assert settle["state"] == "approved" and settle["amount"] == 1000

    again = signed.cli("recover")
    assert again.code == 0 and again.data["message"] == "nothing pending"
    assert _settlements(signed) == [(TID, 1)]  # closed once
    assert signed.cli("status").data["settlement_waiting"] is False
    assert signed.sale("5.00").data["batch"] == "000002"
