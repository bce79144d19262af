"""Who may trade live on this terminal: the TMS's rule `training_required` (an operator without a
training record logs in only in training mode), asked at each live login
(`GET /terminals/{tid}/operators/{operator}`) and kept durably beside the journal
(`<journal>.operators.json`, 0600).

When the TMS cannot answer (unreachable, or an error), the counter keeps selling by the last
answer it had, never around a rule it knows: an operator the TMS last called trained (or a
terminal whose last answer said no training is required) trades live; an operator not known to
be trained on a terminal last known to require training gets training mode only. A terminal the
TMS never answered for knows no rule and trades live."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadypos.clock import now_ts
from steadypos.files import write_private_json
from steadypos.terminal.fleet import Api
from steadypos.terminal.tmsclient import TmsCallError


@dataclass(frozen=True)
class Admission:
    """May `operator` trade live; `fresh`: the TMS answered now (else the last answer stands),
    `why` the TMS's error when it did not."""

    operator: str
    live: bool
    fresh: bool
    why: str = ""


def cache_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".operators.json")


def remembered(journal: Path) -> dict[str, Any]:
    """The last answers: `training_required` (the terminal's rule) and `operators` (trained)."""
    try:
        data = json.loads(cache_path(journal).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _decide(known: dict[str, Any], operator: str) -> bool:
    required = known.get("training_required") is True
    trained = (known.get("operators") or {}).get(operator, {}).get("trained") is True
    return trained or not required


def check(journal: Path, tid: str, operator: str, api: Api | None) -> Admission:
    """Ask the TMS whether `operator` may trade live on `tid`, remembering its answer; without
    a TMS (a terminal not activated through one) there is no rule."""
    if api is None:
        return Admission(operator, True, True)
    known = remembered(journal)
    try:
        got = api.call("GET", f"/terminals/{tid}/operators/{operator}")
        trained, required = bool(got["trained"]), bool(got["training_required"])
        live = "live" in got["modes"]
    except (TmsCallError, KeyError, TypeError) as exc:
        return Admission(operator, _decide(known, operator), False, str(exc))
    operators = {**(known.get("operators") or {}),
                 operator: {"trained": trained, "at": now_ts()}}
    write_private_json(cache_path(journal), {"training_required": required,
                                             "operators": operators, "at": now_ts()})
    return Admission(operator, live, True)
