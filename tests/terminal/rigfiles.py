"""The terminal's files as the terminal tests read them, with plain SQL and JSON: the journal, its
tables, the event log and its episodes, the key store, the receipts; and card files to read."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadypos.host.sqlite_store import read_only
from steadypos.terminal.events import events_path


# -- the terminal's files ---------------------------------------------------------------------
@dataclass
class JournalView:
    """A snapshot of the terminal's journal, read with plain SQL."""

    txns: list[dict[str, Any]]
    steps: list[tuple[int, str, str]]
    reversals: list[dict[str, Any]]
    counters: dict[str, int]

    @classmethod
    def read(cls, path: Path) -> JournalView:
        with closing(read_only(path)) as conn:
            conn.row_factory = sqlite3.Row
            txns = [dict(r) for r in conn.execute("SELECT * FROM txns ORDER BY id")]
            steps = [(r["txn_id"], r["step"], r["detail"])
                     for r in conn.execute("SELECT * FROM steps ORDER BY id")]
            revs = []
            for r in conn.execute("SELECT * FROM reversals ORDER BY txn_id"):
                rec = dict(r)
                rec["fields"] = {int(k): v for k, v in json.loads(rec["fields"]).items()}
                revs.append(rec)
            counters = {r["name"]: r["value"] for r in conn.execute("SELECT * FROM counters")}
        return cls(txns, steps, revs, counters)

    def txn(self, stan: int, kind: str | None = None) -> dict[str, Any]:
        found = [t for t in self.txns if t["stan"] == stan and kind in (None, t["kind"])]
        assert found, f"no txn with STAN {stan:06d} in the journal"
        return found[-1]

    def steps_of(self, stan: int) -> list[str]:
        txn_id = self.txn(stan)["id"]
        return [s for tid, s, _ in self.steps if tid == txn_id]

    def reversal_of(self, stan: int) -> dict[str, Any] | None:
        txn_id = self.txn(stan)["id"]
        return next((r for r in self.reversals if r["txn_id"] == txn_id), None)


def dump_tables(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row of every table of a journal: equal dumps mean nothing was written."""
    with closing(read_only(path)) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(n, conn.execute(f"SELECT * FROM {n}").fetchall()) for n in names]


def read_events(journal: Path) -> list[dict[str, Any]]:
    """The event log; fails on a line that is not a JSON object with ts, tid and type."""
    out = []
    for i, line in enumerate(events_path(journal).read_text().splitlines(), 1):
        rec = json.loads(line)
        assert isinstance(rec, dict) and {"ts", "tid", "type"} <= rec.keys(), f"line {i}: {line}"
        out.append(rec)
    return out


FLOW_SCREENS = ("amount", "card", "pin", "online", "receipt")


def episodes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Episodes as docs/flash-exit-diagnosis.md defines them: a flow that left `idle` and then
    reached `idle`, an app start or a non-normal app exit without a `result` screen and without an
    operator cancel. Each: the screen where it broke and what ended it."""
    found: list[dict[str, Any]] = []
    in_flow, last, finished = False, None, False
    for ev in events:
        kind = ev["type"]
        ends = (kind == "screen" and ev["screen"] == "idle") or (
            kind == "app" and (ev["event"] == "start" or ev.get("reason") != "normal"))
        if ends:
            if in_flow and not finished:
                found.append({"screen": last, "ended_by": _ended_by(ev), "ts": ev["ts"]})
            in_flow, last, finished = False, None, False
            continue
        if kind == "screen" and ev["screen"] in FLOW_SCREENS:
            in_flow, last = True, ev["screen"]
        elif kind == "screen" and ev["screen"] == "result":
            finished = True
        elif kind == "card":
            in_flow = True
            last = last or "card"
        elif kind == "pin" and ev.get("outcome") == "cancelled":
            finished = True
    return found


def _ended_by(ev: dict[str, Any]) -> str:
    if ev["type"] == "screen":
        return "idle"
    return "app start" if ev["event"] == "start" else f"app exit {ev.get('reason')}"


def keystore(journal: Path) -> dict[str, Any]:
    return json.loads(journal.with_name(journal.name + ".keys").read_text())


def receipts(journal: Path) -> dict[str, str]:
    """Receipt files by name (`BATCH-STAN.txt`)."""
    folder = journal.with_name(journal.name + ".receipts")
    if not folder.exists():
        return {}
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def card_file(folder: Path, card: dict[str, Any], **changes: Any) -> Path:
    """A chip card as the reader's card file (pan, expiry, psn, icc_mk, atc)."""
    data = {k: card[k] for k in ("pan", "expiry", "psn", "icc_mk")}
    data["atc"] = 1
    data.update(changes)
    path = folder / f"card-{card['pan'][-4:]}.json"
    path.write_text(json.dumps(data))
    return path
