"""`steadypos chaos --kill-workers`: host workers on PostgreSQL SIGKILLed at random while terminals
stream sales; a short campaign shows no violation, and the check it ends with does catch a sale
charged twice, a lost approval and a reversal that moved nothing back."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest
from support.pg import PG_URL, drop_schema, fresh_schema, pg_reason

from steadypos.chaos import ops, worker_kills
from steadypos.chaos.worker_kills import KillSchedule, Lane, StreamedSale
from steadypos.host import demo_data
from steadypos.host.ledger import merchant_account, transfer
from steadypos.host.process import steadypos_argv
from steadypos.host.secrets import open_keys
from steadypos.host.store import open_store
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.crypto import WorkingKeys


@pytest.fixture
def pg() -> str:
    reason = pg_reason()
    if reason:
        pytest.skip(reason)
    return PG_URL


def test_a_short_campaign_kills_workers_and_keeps_the_money(pg: str, tmp_path: Path) -> None:
    out = tmp_path / "kills.json"
    run = subprocess.run(steadypos_argv("chaos", "--kill-workers", "--db", pg, "--workers", "2",
                                        "--runs", "2", "--seed", "1000", "--json", str(out)),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out.read_text())
    assert figures["schedules"] == 2 and figures["violations"] == []
    expected = sum(len(KillSchedule.make(s, 6).kills) for s in (1000, 1001))
    assert 1 <= figures["kills"] <= expected and figures["sales"] > 20


def test_kill_workers_needs_postgresql() -> None:
    run = subprocess.run(steadypos_argv("chaos", "--kill-workers", "--db", "host.db"),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.startswith("error: --kill-workers needs --db postgresql://")


def test_kill_workers_on_a_database_that_does_not_answer(tmp_path: Path) -> None:
    out = tmp_path / "kills.json"
    run = subprocess.run(steadypos_argv("chaos", "--kill-workers", "--db",
                                        "postgresql://127.0.0.1:1/test", "--runs", "1",
                                        "--json", str(out)),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and not out.exists()
    assert run.stderr.startswith("error: cannot use the database postgresql://127.0.0.1:1/test: ")


def test_the_check_catches_what_a_broken_host_would_do(pg: str, tmp_path: Path) -> None:
    schema, url = fresh_schema("kills_check")
    try:
        store = open_store(url)
        secrets = open_keys(tmp_path / "h.keys", demo_data.DEMO_ISSUER_MK)
        store.begin()
        demo_data.seed(store, secrets)
        store.commit()
        term, card = ops.demo_terminals()[0], ops.demo_cards()[0]
        row = store.card(secrets.pan_ref(card["pan"]))
        assert row is not None
        opening = [store.balance(row.account)]
        merchants = {term["mid"]: store.balance(merchant_account(term["mid"]))}
        lane = Lane(Station(term["tid"], term["mid"]), mac.MacAlgorithm(term["mac"]),
                    WorkingKeys.fresh(), itertools.count(1), reverses=True)
        swiped = Card.from_track2(card["track2"])
        for stan, (rc, reversed_) in enumerate([("00", False), ("00", False), ("00", True)], 1):
            msg = builders.sale(lane.station, stan, 1, 500, swiped)
            lane.sales.append(StreamedSale(msg, 0, 500, rc, f"{stan:012d}", reversed_))
        store.begin()  # stan 1 posted twice; stan 2 never posted; stan 3 posted, not reversed
        store.ensure_account(merchant_account(term["mid"]), "merchant")
        for stan in (1, 1, 3):
            transfer(store, "sale", f"{term['tid']}/000001/{stan:06d}", row.account,
                     merchant_account(term["mid"]), 500)
        store.commit()
        found = {v.invariant for v in worker_kills.check_money(store, [lane], [row.account],
                                                               opening, merchants)}
        assert found == {"posted-once", "card-balance", "merchant-balance"}
        store.close()
    finally:
        drop_schema(schema)
