"""Money moves as balanced double-entry postings in integer fen; the check that proves it."""

from __future__ import annotations

from dataclasses import dataclass, field

from steadypos.host.records import Posting
from steadypos.host.store import Store

FUNDING = "issuer:funding"  # where opening balances come from, so the grand total stays zero


def merchant_account(mid: str) -> str:
    return f"merchant:{mid}"


def transfer(store: Store, kind: str, ref: str, debit: str, credit: str, amount: int) -> None:
    """Move `amount` fen from `debit` to `credit` as one posting."""
    if amount <= 0:
        raise ValueError("transfer amount must be positive fen")
    store.post(Posting(kind, ref, ((debit, -amount), (credit, amount))))


@dataclass
class LedgerReport:
    postings: int = 0
    problems: list[str] = field(default_factory=list)
    grand_total: int = 0
    balances: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(store: Store) -> LedgerReport:
    """Every posting sums to zero, the grand total is zero, cached balances equal their lines."""
    report = LedgerReport()
    for pid, kind, ref, total, lines in store.posting_sums():
        report.postings += 1
        if total != 0:
            report.problems.append(f"posting {pid} ({kind} {ref}) sums to {total}, not 0")
        if lines < 2:
            report.problems.append(f"posting {pid} ({kind} {ref}) has {lines} line(s)")
    report.balances = store.account_balances()
    report.grand_total = sum(b for _, _, b in report.balances)
    if report.grand_total != 0:
        report.problems.append(f"grand total is {report.grand_total}, not 0")
    lines_by_account = store.line_totals()
    for account, _kind, balance in report.balances:
        if lines_by_account.get(account, 0) != balance:
            report.problems.append(f"account {account} shows {balance} but its lines sum to "
                                   f"{lines_by_account.get(account, 0)}")
    return report
