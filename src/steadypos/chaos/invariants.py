"""The invariants a healed system must hold, checked from the host's store and the terminals'
journals: nobody charged twice, every approval charged once, a balanced ledger, no reversal left,
settlement totals that agree; and the wire rules a conformance observer saw broken."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadypos.host.ledger import check as ledger_check
from steadypos.host.records import TxnRow
from steadypos.host.secrets import HostSecrets
from steadypos.host.settlement import host_totals
from steadypos.host.store import Store
from steadypos.masking import mask_pan
from steadypos.protocol.fields import Totals
from steadypos.protocol.mti import Mti
from steadypos.terminal.journal import IN_PROGRESS, Journal
from steadypos.terminal.keystore import KeyStore


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str


@dataclass
class CheckedTerminal:
    """What the checker reads of one terminal: its id, journal and key store (to name cards)."""

    tid: str
    journal: Journal
    keys: KeyStore


# Host states of a sale that mean the money is with the merchant.
_HOST_CHARGED = frozenset({"approved"})
# Journal states of a sale that mean the terminal told the operator it is charged.
_JOURNAL_CHARGED = frozenset({"approved", "refunded"})


def _net_charges_by_card(store: Store, tid: str) -> dict[str, int]:
    """Per card (pan_ref), what the host holds as charged by this terminal's sales and refunds."""
    out: dict[str, int] = defaultdict(int)
    for t in _host_txns(store, tid):
        if t.pan_ref is None:
            continue
        if t.kind == "sale" and t.state in _HOST_CHARGED:
            out[t.pan_ref] += t.amount - t.refunded
    return out


def _host_txns(store: Store, tid: str) -> list[TxnRow]:
    return store.terminal_txns(tid)


def check_all(store: Store, secrets: HostSecrets, terminals: list[CheckedTerminal],
              opening_total: int | None = None) -> list[Violation]:
    """Every invariant (a)-(e) for a healed system; an empty list when all hold."""
    found: list[Violation] = []
    for view in terminals:
        found += _check_terminal(store, secrets, view)
    report = ledger_check(store)
    for problem in report.problems:
        found.append(Violation("c_ledger", problem))
    if opening_total is not None and report.grand_total != opening_total:
        found.append(Violation("c_ledger", f"grand total {report.grand_total}, "
                                           f"was {opening_total}"))
    return found


def wire_violations(report: dict[str, Any]) -> list[Violation]:
    """(g) the wire rules: the breaches in a conformance report (`RuleWatch.report()`, or the JSON
    file of a host in conformance mode), as `g_wire_<rule>` violations."""
    return [Violation(f"g_wire_{v['rule']}", f"{tid} STAN {v['stan']}: {v['detail']}")
            for tid, rec in report.get("terminals", {}).items() for v in rec["violations"]]


def _ref(secrets: HostSecrets, view: CheckedTerminal, sealed: str, method: str) -> tuple[str, str]:
    pan = view.keys.unseal(sealed)
    ref = secrets.code_ref(pan) if method == "qr" else secrets.pan_ref(pan)
    return ref, mask_pan(pan)


def _check_terminal(store: Store, secrets: HostSecrets, view: CheckedTerminal) -> list[Violation]:
    found: list[Violation] = []
    tid = view.tid
    host_rows = {(t.batch, t.stan, t.mti): t for t in _host_txns(store, tid)}
    # (b) each sale: charged exactly when the journal says it is, never otherwise.
    journal_charge: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for txn in view.journal.txns():
        if txn.kind != "sale" or not txn.pan_sealed:
            continue
        ref, shown = _ref(secrets, view, txn.pan_sealed, txn.method)
        names[ref] = shown
        host = host_rows.get((txn.batch, txn.stan, Mti.FINANCIAL))
        charged = host is not None and host.kind == "sale" and host.state in _HOST_CHARGED
        says = txn.state in _JOURNAL_CHARGED
        if says:
            journal_charge[ref] += txn.amount - txn.refunded
        if says != charged:
            found.append(Violation(
                "b_charged_as_journaled",
                f"{tid} sale STAN {txn.stan:06d} batch {txn.batch:06d} {txn.amount} fen card "
                f"{shown}: journal says {txn.state}, host has "
                f"{host.state if host else 'nothing'}"))
        if txn.state == "voided" and (host is None or host.state != "voided"):
            found.append(Violation("b_charged_as_journaled",
                                   f"{tid} sale STAN {txn.stan:06d}: voided on the terminal, "
                                   f"{host.state if host else 'unknown'} on the host"))
        # (d) nothing left pending once the system has healed.
    for txn in view.journal.txns():
        if txn.state in (IN_PROGRESS, "pending_reversal"):
            found.append(Violation("d_reversal_resolved",
                                   f"{tid} {txn.kind} STAN {txn.stan:06d} still {txn.state} "
                                   f"at step {txn.step}"))
    for rec in view.journal.reversals():
        found.append(Violation("d_reversal_resolved",
                               f"{tid} reversal record of txn {rec.txn_id} ({rec.reason}) left "
                               f"after {rec.attempts} attempt(s)"))
    # (a) per card, the host holds exactly what the journal says was charged, not more.
    host_charge = _net_charges_by_card(store, tid)
    for ref in set(host_charge) | set(journal_charge):
        if host_charge.get(ref, 0) != journal_charge.get(ref, 0):
            found.append(Violation(
                "a_charged_once",
                f"{tid} card {names.get(ref, '?')}: host holds {host_charge.get(ref, 0)} fen "
                f"of this terminal's sales, the journal {journal_charge.get(ref, 0)} fen"))
    # (e) the terminal's totals and the host's agree for every settled batch.
    for batch in sorted({t.batch for t in view.journal.txns()}):
        if batch >= view.journal.counter("batch", 1):
            continue  # still open
        ours = _journal_totals(view.journal, batch)
        theirs = host_totals(store, tid, batch)
        if ours != theirs:
            found.append(Violation("e_settlement_agrees",
                                   f"{tid} batch {batch:06d}: terminal {ours}, host {theirs}"))
    return found


def _journal_totals(journal: Journal, batch: int) -> Totals:
    """The batch's totals recomputed from the journal by the checker's own reading of §3."""
    txns = journal.txns(batch=batch)
    debits = [t for t in txns if t.kind == "sale" and t.state in _JOURNAL_CHARGED]
    credits = [t for t in txns if t.kind == "refund" and t.state == "approved"]
    return Totals(sum(t.amount for t in debits), len(debits),
                  sum(t.amount for t in credits), len(credits))


def episode_violations(tid: str, events: Path, expected: int) -> list[Violation]:
    """(f) Every crash or abandoned flow is an episode of the terminal's event log, with a cause
    from the taxonomy: read by the same diagnosis an operator would run."""
    from steadypos.diagnose.engine import diagnose
    from steadypos.diagnose.taxonomy import LABELS

    result = diagnose([str(events)])
    mine = result.episodes  # the whole file is this device's, whatever TID it was set to
    found: list[Violation] = []
    if len(mine) < expected:
        found.append(Violation("f_episode_logged", f"{tid}: {expected} crash(es) or abandoned "
                                                   f"flow(s), {len(mine)} episode(s) in its log"))
    for n, ep in enumerate(mine, 1):  # numbered, not timed: a replay must print the same
        if ep.cause not in LABELS:
            found.append(Violation("f_episode_logged", f"{tid} episode {n} of {len(mine)} "
                                                       f"(broke at {ep.screen}) has no cause"))
    if result.stats.malformed:
        found.append(Violation("f_episode_logged", f"{tid}: {result.stats.malformed} malformed "
                                                   "line(s) in its event log"))
    return found
