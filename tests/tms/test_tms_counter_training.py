"""The rule `training_required` enforced at the counter, end to end against a real TMS on both
backends: an operator without a training record is refused live trading (told so in Chinese and
English) and logs in in training mode; once training is recorded, live is allowed. When the TMS
cannot be reached the last answer, kept durably beside the journal, stands."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

from textual.widgets import Static
from tmskit import DeviceApi, Tms, active

from steadypos.terminal import operators
from steadypos.terminal.counter import training
from steadypos.terminal.counter.app import CounterApp
from steadypos.terminal.counter.autopilot import SIZE, login, until
from steadypos.terminal.flows import Terminal
from steadypos.terminal.tmsclient import TmsClient

DOWN = "http://127.0.0.1:9"  # nothing listens there: the TMS cannot be reached


def log_in(app: CounterApp, operator: str) -> tuple[str | None, str]:
    """Open the counter, log `operator` in by the keys; (who is logged in, the notice)."""

    async def script() -> tuple[str | None, str]:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.tid != "?", "the counter to open")
            await login(pilot, operator)
            await until(pilot, lambda: bool(app.noticed[0]) and not app.busy, "the answer")
            return app.operator, str(app.query_one("#notice", Static).render())

    return asyncio.run(script())


def counter(journal: Path, lang: str, api: Any, train: bool = False) -> CounterApp:
    return CounterApp(journal, lang, training=train, tms=api, heartbeat_every=3600,
                      opener=training.open_terminal if train else None)


def test_an_untrained_operator_trades_live_only_after_training(tms: Tms, tmp_path: Path) -> None:
    mid = tms.merchant()
    (tid, token), = active(tms, mid)
    journal = tmp_path / "t.journal"
    Terminal.init(journal, "127.0.0.1", 5000, tid, mid, bytes(16))
    api = DeviceApi(tms.client, token)
    assert log_in(counter(journal, "en", api), "07")[0] == "07"  # no rule yet: live
    tms.ok("PUT", "/policies", json={"target": {"mid": mid}, "training_required": True})

    who, said = log_in(counter(journal, "zh", api), "07")
    assert who is None and "没有培训记录" in said and "练习模式" in said
    who, said = log_in(counter(journal, "en", api), "07")
    assert who is None and "has no training record" in said and "training mode" in said
    who, said = log_in(counter(journal, "en", None, train=True), "07")
    assert (who, said) == ("07", "Operator 07 logged in")  # training mode: open to anyone

    tms.ok("POST", "/training-records", 201, json={"operator": "07", "tid": tid,
                                                   "course": "basics", "score": 95})
    assert log_in(counter(journal, "en", api), "07") == ("07", "Operator 07 logged in")
    kept = operators.cache_path(journal)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    remembered = json.loads(kept.read_text())
    assert remembered["training_required"] is True
    assert remembered["operators"]["07"]["trained"] is True

    # The TMS goes away: the last answers stand, the rule is not bypassed.
    down = TmsClient(DOWN, token, timeout=2)
    who, said = log_in(counter(journal, "en", down), "07")
    assert who == "07" and "cannot be reached" in said
    who, said = log_in(counter(journal, "en", down), "08")
    assert who is None and "only training mode" in said and "cannot be reached" in said


def test_without_any_answer_yet_an_unreachable_tms_does_not_stop_selling(tmp_path: Path) -> None:
    journal = tmp_path / "t.journal"
    down = TmsClient(DOWN, "x", timeout=2)
    told = operators.check(journal, "10000001", "07", down)
    assert (told.live, told.fresh) == (True, False) and "cannot reach" in told.why
    assert not operators.cache_path(journal).exists()
    assert operators.check(journal, "10000001", "07", None) == operators.Admission("07", True,
                                                                                  True)
