"""The ledger (point 6): every approved money movement is one balanced posting, and
`steadypos ledger check` says so on a good database and names the imbalance on a bad one."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hostkit import DEMO, Host, TestTerminal, chip_card, demo_cards, rich_card, swipe

from steadypos.host.ledger import FUNDING, check
from steadypos.host.store import StoreUrl, open_store
from steadypos.protocol import builders
from steadypos.protocol.builders import Card

STEADYPOS = str(Path(sys.executable).with_name("steadypos"))
MOVES_MONEY = ("sale", "void", "refund", "reversal")


def _busy_day(host: Host, term: TestTerminal) -> None:
    """Every kind of money movement, approved and declined, repeated and reversed."""
    card, other = rich_card(0), rich_card(1)
    s1 = term.sale(10_000, swipe(card), card["pin"])
    term.send(s1[0])  # repeat: no second posting
    s2 = term.sale(2_000, swipe(card), card["pin"])
    term.void(2_000, swipe(card), s2)
    term.refund(3_000, swipe(card), s1)
    term.refund(8_000, swipe(card), s1)  # 13: over what is left
    s3 = term.sale(4_000, swipe(other), other["pin"])
    term.reverse(s3[0])
    term.reverse(s3[0])  # second reversal: nothing moves
    lost = builders.sale(term.station, term.next_stan(), term.batch, 500, swipe(other))
    term.reverse(lost)  # tombstone
    term.send(lost)  # late original: 25
    term.sale(100, swipe(other), "000000")  # wrong PIN
    chip = demo_cards("chip")[0]
    term.sale(6_000, chip_card(chip, 6_000)[0], chip["pin"])
    term.sale(700, Card.qr(DEMO["qr_codes"][0]["code"]))
    s4 = term.sale(900, swipe(other), other["pin"])
    v4 = term.void(900, swipe(other), s4)
    term.reverse(v4[0])  # undoing the void charges the sale again


def test_every_approved_movement_is_one_balanced_posting(host: Host, term: TestTerminal) -> None:
    total_before = sum(host.balances().values())
    opening = len(host.postings())
    _busy_day(host, term)
    postings = host.postings()[opening:]
    for pid, kind, _ref, lines in postings:
        assert kind in MOVES_MONEY, (pid, kind)
        assert len(lines) == 2 and sum(a for _, a in lines) == 0, (pid, lines)
        assert all(isinstance(a, int) and a != 0 for _, a in lines)
    assert Counter(p[1] for p in postings) == {"sale": 6, "void": 2, "refund": 1,
                                               "reversal": 2}
    # Each approved sale/void/refund row has exactly one posting of its kind under its ref.
    by_ref = Counter((kind, ref) for _, kind, ref, _ in postings)
    rows = [t for t in host.store.batch_txns("T0000001", 1)
            if t.kind in ("sale", "void", "refund") and t.rc == "00"]
    assert len(rows) == 9
    for t in rows:
        assert by_ref[(t.kind, f"{t.tid}/{t.batch:06d}/{t.stan:06d}")] == 1, t
    assert sum(host.balances().values()) == total_before == 0
    report = check(host.store)
    assert report.ok, report.problems
    assert report.grand_total == 0 and report.postings == len(host.postings())


def test_opening_balances_come_from_funding(host: Host) -> None:
    funded = sum(c["balance"] for c in DEMO["cards"])
    funded += sum({q["wallet"]: q["balance"] for q in DEMO["qr_codes"]}.values())
    assert host.store.balance(FUNDING) == -funded
    assert {p[1] for p in host.postings()} == {"opening"}


def test_posting_sums_are_read_whole_before_the_next_statement(host: Host) -> None:
    """PostgreSQL runs every statement on one cursor: one run in the middle of reading the sums
    must not cut them short (nor hand over its own rows). On SQLite, a cursor per statement, it
    holds either way: the PostgreSQL run is the one that can fail."""
    sums = iter(host.store.posting_sums())
    first = next(sums)
    host.store.line_totals()
    assert [first[0], *(s[0] for s in sums)] == [p[0] for p in host.postings()]


def _ledger_check(db: Path | str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STEADYPOS, "ledger", "check", "--db", str(db)], capture_output=True,
                          text=True, env=env, timeout=30)


@pytest.fixture
def busy_db(host: Host, term: TestTerminal) -> Path | str:
    _busy_day(host, term)
    host.close()
    return host.db


def test_ledger_check_passes_on_a_good_db(busy_db: Path, cli_env: dict[str, str]) -> None:
    out = _ledger_check(busy_db, cli_env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ledger balanced" in out.stdout
    assert "grand total: 0 fen" in out.stdout
    assert "IMBALANCE" not in out.stdout


def _tamper(db: Path | str, *statements: str) -> None:
    """Change the database behind the host's back, as a bad disk or a bad hand would."""
    store = open_store(db)
    try:
        for sql in statements:
            store.ddl(sql)
    finally:
        store.close()


def test_ledger_check_names_a_corrupted_line(busy_db: Path, cli_env: dict[str, str]) -> None:
    store = open_store(busy_db)
    pid = store.postings()[0][0]
    store.close()
    _tamper(busy_db, "UPDATE posting_lines SET amount = amount + 1 "
                     f"WHERE posting_id = {pid} AND line = 0")
    out = _ledger_check(busy_db, cli_env)
    assert out.returncode != 0
    assert "ledger balanced" not in out.stdout
    assert f"posting {pid} " in out.stdout and "sums to 1, not 0" in out.stdout
    assert "IMBALANCE" in out.stdout


def test_ledger_check_names_a_tampered_balance(busy_db: Path, cli_env: dict[str, str]) -> None:
    merchant = f"merchant:{DEMO['terminals'][0]['mid']}"
    if StoreUrl.parse(busy_db).is_sqlite:
        _tamper(busy_db, "UPDATE accounts SET balance_fen = balance_fen + 5 "
                         f"WHERE id = '{merchant}'")
    else:  # balances kept per host worker, summed on read
        _tamper(busy_db, "UPDATE account_shards SET balance = balance + 5 "
                         f"WHERE account = '{merchant}'")
    out = _ledger_check(busy_db, cli_env)
    assert out.returncode != 0
    assert "grand total is 5, not 0" in out.stdout
    assert f"account merchant:{DEMO['terminals'][0]['mid']} shows" in out.stdout


def test_ledger_check_on_a_missing_db(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = _ledger_check(tmp_path / "nope.db", cli_env)
    assert out.returncode != 0
    assert not (tmp_path / "nope.db").exists()
