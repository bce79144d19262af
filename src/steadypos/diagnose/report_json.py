"""The diagnosis as JSON in the document's shape: `terminals`, `episodes`, `fleet`."""

from __future__ import annotations

import json
from collections import Counter
from typing import IO, Any

from steadypos.diagnose.engine import Diagnosis
from steadypos.diagnose.episodes import END_IDLE, END_RESTART
from steadypos.diagnose.fleet import SessionRate, flagged_model, flagged_version, version_key
from steadypos.diagnose.taxonomy import ALL_LABELS, VITALS_OVERALL, VITALS_PER_MODEL
from steadypos.diagnose.verdicts import EpisodeVerdict, TerminalVerdict
from steadypos.eventlog import format_ts

TOP_CRASH_GROUPS = 20

_ENDS = {
    END_IDLE: "returned to idle without a result",
    END_RESTART: "app restarted with no exit logged",
}


def episode_evidence(v: EpisodeVerdict) -> list[str]:
    ep = v.episode
    head = _ENDS.get(ep.end_kind, f"app exit reason={ep.end_kind}")
    return [f"{head} (at the {ep.screen} screen)", *v.evidence]


def terminal_dict(r: TerminalVerdict) -> dict[str, Any]:
    """The document's terminal object; `runner_up` only when the runner-up cause is close."""
    out: dict[str, Any] = {
        "tid": r.tid,
        "episodes": r.episodes,
        "cause": r.cause,
        "confidence": r.confidence,
        "evidence": r.evidence,
        "actions": r.actions,
    }
    if r.runner_up is not None:
        out["runner_up"] = {"cause": r.runner_up, "confidence": r.runner_up_confidence}
    return out


def to_dict(d: Diagnosis) -> dict[str, Any]:
    terminals = [terminal_dict(r) for r in d.results]
    episodes = [
        {
            "tid": ep.tid,
            "start": ep.start,
            "end": ep.end,
            "screen": ep.screen,
            "cause": ep.cause,
            "evidence": episode_evidence(ep),
        }
        for ep in d.episodes
    ]
    return {"terminals": terminals, "episodes": episodes, "fleet": fleet_dict(d)}


def fleet_dict(d: Diagnosis) -> dict[str, Any]:
    ctx = d.ctx
    by_cause = Counter(r.cause for r in d.results)
    eps_by_cause = Counter(ep.cause for ep in d.episodes)
    versions = [_rate(("app_version", v), rate, flagged_version(ctx, v))
                for v, rate in sorted(ctx.by_version.items(), key=lambda kv: version_key(kv[0]))]
    models = [_rate(("brand_model", m), rate, flagged_model(ctx, m))
              for m, rate in sorted(ctx.by_model.items())]
    crash_groups = _crash_groups(d)
    st = d.stats
    return {
        "terminals": len(d.results),
        "episodes": len(eps_by_cause) and sum(eps_by_cause.values()),
        "counts_by_cause": {label: by_cause.get(label, 0) for label in ALL_LABELS},
        "episodes_by_cause": {label: eps_by_cause.get(label, 0) for label in ALL_LABELS},
        "crash_free_overall": round(ctx.overall.crash_free, 4),
        "crash_free_by_version": versions,
        "crash_free_by_model": models,
        "crash_groups": crash_groups,
        "undecided": [
            {"tid": r.tid, "cause": r.cause, "confidence": r.confidence,
             "runner_up": r.runner_up, "on_noise_floor": r.on_floor}
            for r in d.undecided
        ],  # fmt: skip
        "current_app_version": ctx.current_version,
        "current_params_version": ctx.current_params,
        "thresholds": {
            "crash_rate_overall": VITALS_OVERALL,
            "crash_rate_per_model": VITALS_PER_MODEL,
        },
        "input": {
            "sources": st.sources,
            "lines": st.lines,
            "events": st.events,
            "malformed": st.malformed,
            "malformed_lines": [
                {"source": m.source, "line": m.line, "reason": m.reason} for m in st.samples
            ],
            "unreadable": st.unreadable,
            "events_with_unusable_values": st.bad_values,
        },
    }


def _rate(key: tuple[str, str], rate: SessionRate, flagged: bool) -> dict[str, Any]:
    """One row of the crash-free tables (by app version, by brand/model)."""
    return {
        key[0]: key[1],
        "terminals": rate.terminals,
        "sessions": rate.sessions,
        "crashes": rate.crashes,
        "crash_free_rate": round(rate.crash_free, 4),
        "flagged": flagged,
    }


def _crash_groups(d: Diagnosis) -> list[dict[str, Any]]:
    """The biggest crash groups, what they hold and the cause each was given."""
    groups = sorted(d.ctx.groups.values(), key=lambda g: (-g.count, g.fingerprint))
    return [
        {
            "fingerprint": g.fingerprint,
            "exception": g.exception,
            "frames": list(g.frames),
            "crashes": g.count,
            "terminals": len(g.terminals),
            "app_versions": dict(g.versions.most_common()),
            "brand_models": dict(g.models.most_common()),
            "firmwares": dict(g.combos.most_common(5)),
            "first": format_ts(g.first_t),
            "last": format_ts(g.last_t),
            "cause": d.groups[g.fingerprint].cause,
            "why": list(d.groups[g.fingerprint].why),
        }
        for g in groups[:TOP_CRASH_GROUPS]
    ]


def write_json(d: Diagnosis, out: IO[str]) -> None:
    json.dump(to_dict(d), out, ensure_ascii=False, indent=1)
    out.write("\n")
