"""Settlement is a journaled flow too: a terminal that dies after the host closed its batch
finishes the settlement on restart and never trades in the closed batch again."""

from __future__ import annotations

import pytest
from rig import KILLED, TerminalRig


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
