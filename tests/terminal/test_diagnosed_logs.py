"""The terminal's own event log diagnoses right. A real terminal (the CLI in-process, or killed
`steadypos` subprocesses) runs a short day against the real host: a few clean sales, then a few
flows under one injected fault. `steadypos diagnose` on that one log, with no fleet around it,
must name the injected cause, say so in its evidence, and show each faulted flow as an episode at
the screen where it broke."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from rig import CARD, CARD2, KILLED, TID, HostRig, Proxy, TerminalRig

from steadypos.diagnose.engine import diagnose
from steadypos.diagnose.verdicts import EpisodeVerdict, TerminalVerdict
from steadypos.host.process import steadypos_argv
from steadypos.terminal.events import events_path

CLEAN_SALES = 6  # with the faulted flows, over the 10 flows that make a terminal "busy"
WRONG_MID = "999999999999999"


def _clean_day(rig: TerminalRig) -> None:
    for n in range(CLEAN_SALES):
        ran = rig.sale(f"{n + 1}.00", card=(CARD, CARD2)[n % 2])
        assert ran.code == 0, ran.output


def _diagnosed(rig: TerminalRig) -> tuple[TerminalVerdict, list[EpisodeVerdict]]:
    d = diagnose([str(events_path(rig.journal))])
    assert d.stats.malformed == d.stats.bad_values == 0
    assert [r.tid for r in d.results] == [TID]
    return d.results[0], d.episodes


def _evidence(ep: EpisodeVerdict) -> str:
    return "; ".join(ep.evidence)


def test_network_loss_is_network(tmp_path: Path, host: HostRig, proxy: Proxy) -> None:
    term = TerminalRig(tmp_path, host, proxy)
    term.init(timeout=1.0)  # a blackholed request costs one timeout
    term.sign_in()
    _clean_day(term)
    proxy.down()  # the link is gone: nothing can be sent
    assert term.sale().data["result"] == "failed"
    proxy.up()
    for mode in ("drop", "drop", "blackhole", "blackhole"):  # answers lost on the way back
        proxy.set(mode, "0200")
        ran = term.sale()
        assert ran.code == 3 and ran.data["reversal_pending"], ran.output
    res, eps = _diagnosed(term)
    assert (res.cause, res.episodes) == ("network", 5), res
    assert [ep.screen for ep in eps] == ["online"] * 5
    assert all(ep.cause == "network" for ep in eps)
    assert "connect_fail" in _evidence(eps[0])
    assert [("conn_fail" in _evidence(ep), "timeout" in _evidence(ep)) for ep in eps[1:]] == [
        (True, False), (True, False), (False, True), (False, True)]
    assert any("left from online after timeout/conn_fail" in e for e in res.evidence)
    assert any("net down/reset/connect_fail" in e for e in res.evidence)
    _report(res)


def test_printer_jam_is_hardware_printer(signed: TerminalRig) -> None:
    _clean_day(signed)
    for _ in range(5):
        ran = signed.sale(bench=("--fault", "printer=jam"))
        assert ran.code == 0 and "printer jam" in ran.data["message"], ran.output
    res, eps = _diagnosed(signed)
    assert (res.cause, res.episodes) == ("hardware_printer", 5), res
    assert [ep.screen for ep in eps] == ["receipt"] * 5
    assert all("printer jam" in _evidence(ep) for ep in eps)
    assert any("printer jam/head_fault in 5 health readings" in e for e in res.evidence)
    _report(res)


def test_wrong_parameters_are_parameter_mismatch(signed: TerminalRig) -> None:
    """The MID is changed in the terminal's configuration (a bad parameter download), which
    makes it sign in again: the host knows no such TID/MID and answers 03 every time."""
    _clean_day(signed)
    signed.set_config(mid=WRONG_MID)
    with signed.open() as t:
        t.keys.set_working(None)  # new parameters: new working keys
    for _ in range(5):
        ran = signed.sale()
        assert ran.code == 1 and ran.data["rc"] == "03", ran.output
    events = signed.events()
    mismatches = [e for e in events if e["type"] == "params" and e["event"] == "mismatch"]
    assert [e["field"] for e in mismatches] == ["mid"] * 5
    assert any(e["type"] == "inventory" and e["mid"] == WRONG_MID for e in events)
    res, eps = _diagnosed(signed)
    assert (res.cause, res.episodes) == ("parameter_mismatch", 5), res
    assert [ep.screen for ep in eps] == ["amount"] * 5  # refused before the card was asked for
    assert all("39=03" in _evidence(ep) for ep in eps)
    assert any("params mismatch events (field mid)" in e for e in res.evidence)
    _report(res)


# Where each kill leaves the flow: the last screen shown before the process died.
KILLS = {"card_read": "card", "pin_captured": "pin", "request_packed": "pin",
         "request_sent": "online", "response_received": "online"}


def test_process_kills_are_software_defect(signed: TerminalRig) -> None:
    """SIGKILL mid-flow, five times. The log has no exception, no memory, heat or power trouble:
    only `app exit reason=killed` inside flows (written by the next start). Of the seed's causes
    that leaves `software_defect` ("software fault, unstable system"): memory, overheating and
    power each need their readings, compatibility and outdated software need a model or a
    version to stand out against, and no operator or network signal is there."""
    _clean_day(signed)
    for step in KILLS:
        ran = signed.spawn("sale", "--amount", "3.00", "--track2", CARD["track2"], "--pin",
                           CARD["pin"], kill_at=step)
        assert ran.code == KILLED, ran.output
    assert signed.sale("1.00").code == 0  # the next morning: recovers, then sells
    exits = [e for e in signed.events() if e["type"] == "app" and e["event"] == "exit"]
    assert [e["reason"] for e in exits].count("killed") == len(KILLS)
    res, eps = _diagnosed(signed)
    assert (res.cause, res.episodes) == ("software_defect", len(KILLS)), res
    assert [ep.screen for ep in eps] == list(KILLS.values())
    assert all(ep.end_kind == "killed" and "killed mid-flow" in _evidence(ep) for ep in eps)
    assert any("app killed mid-flow" in e for e in res.evidence)
    # The operator's tool says the same from the log file.
    argv = steadypos_argv("diagnose", str(events_path(signed.journal)), "--json", "-")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    doc: dict[str, Any] = json.loads(out.stdout)
    assert [(t["tid"], t["cause"]) for t in doc["terminals"]] == [(TID, "software_defect")]
    assert [e["screen"] for e in doc["episodes"]] == list(KILLS.values())
    _report(res)


def _report(res: TerminalVerdict) -> None:
    print(f"{res.tid}: {res.cause} ({res.confidence:.2f}) episodes={res.episodes}",
          *res.evidence, sep="\n  ")
