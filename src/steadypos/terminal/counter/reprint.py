"""Reprint (重印): any approved receipt of the open batch again, marked DUPLICATE, from the
journal; the printer's faults apply as to the first print."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadypos.terminal.devices import DeviceError, Printer, Receipt
from steadypos.terminal.journal import Txn

PRINTED_KINDS = ("sale", "void", "refund")
# A sale stays reprintable after it was voided or refunded: its slip was approved.
REPRINTABLE_STATES = ("approved", "voided", "refunded")


@dataclass(frozen=True)
class Reprinted:
    txn: Txn | None  # None: nothing to reprint
    path: Path | None = None
    fault: str | None = None  # the printer's fault, when it failed
    text: str = ""


def receipts_dir(journal: Path) -> Path:
    return journal.with_name(journal.name + ".receipts")


def reprintable(term: Any) -> list[Txn]:
    """Approved receipts of the open batch, oldest first."""
    return [t for t in term.journal.txns(batch=term.batch)
            if t.kind in PRINTED_KINDS and t.state in REPRINTABLE_STATES and t.rrn]


def find(term: Any, stan: int | None) -> Txn | None:
    found = reprintable(term)
    if stan is None:
        return found[-1] if found else None
    return next((t for t in reversed(found) if t.stan == stan), None)


def reprint(term: Any, stan: int | None = None) -> Reprinted:
    """Print the receipt of `stan` (default: the last approved one) marked DUPLICATE."""
    txn = find(term, stan)
    if txn is None:
        return Reprinted(None)
    cfg = term.cfg
    receipt = Receipt(cfg["tid"], cfg["mid"], txn.kind, txn.pan_masked, txn.amount, txn.stan,
                      txn.batch, txn.rrn, txn.auth_code, reprint=True,
                      training=cfg.get("training") == "1")
    try:
        path = Printer(term.faults, receipts_dir(term.journal.path)).print(receipt)
    except DeviceError as exc:
        term.events.emit("health", printer=exc.code)
        return Reprinted(txn, fault=exc.code, text=receipt.text())
    term.events.emit("receipt", stan=f"{txn.stan:06d}", kind=txn.kind, reprint=True)
    return Reprinted(txn, path, text=receipt.text())
