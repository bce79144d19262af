"""JSON in the document's shape; an HTML report that opens offline."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from steadypos.diagnose.engine import Diagnosis, diagnose
from steadypos.diagnose.report_html import render
from steadypos.diagnose.report_json import to_dict, write_json
from steadypos.diagnose.taxonomy import ALL_LABELS, LABELS
from steadypos.fleetsim.writer import write_fleet


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Diagnosis:
    path = tmp_path_factory.mktemp("r") / "f.jsonl"
    with path.open("w") as fh:
        write_fleet(30, 2, 7, fh)
    with path.open("a") as fh:
        fh.write("{broken\n")
    return diagnose([str(path)])


def test_json_shape_is_exactly_the_documents(small: Diagnosis) -> None:
    buf = io.StringIO()
    write_json(small, buf)
    doc = json.loads(buf.getvalue())
    assert set(doc) == {"terminals", "episodes", "fleet"}
    assert len(doc["terminals"]) == 30
    for t in doc["terminals"]:
        assert set(t) - {"runner_up"} == {
            "tid", "episodes", "cause", "confidence", "evidence", "actions"}  # fmt: skip
        if "runner_up" in t:  # only when close: a cause of its own, at most as sure
            assert t["runner_up"]["cause"] in ALL_LABELS
            assert t["runner_up"]["cause"] != t["cause"]
            assert 0 < t["runner_up"]["confidence"] <= t["confidence"] or t["cause"] == "none"
        assert t["cause"] in ALL_LABELS
        assert 0 <= t["confidence"] <= 1
        assert isinstance(t["episodes"], int)
        assert all(isinstance(x, str) and x for x in t["evidence"])
        assert (t["cause"] == "none") == (t["actions"] == [])
        if t["episodes"] == 0:
            assert t["cause"] == "none"
    assert sum(t["episodes"] for t in doc["terminals"]) == len(doc["episodes"])
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    for e in doc["episodes"]:
        assert set(e) == {"tid", "start", "end", "screen", "cause", "evidence"}
        assert stamp.match(e["start"]) and stamp.match(e["end"]) and e["start"] <= e["end"]
        assert e["screen"] in {"amount", "card", "pin", "online", "receipt"}
        assert e["cause"] in ALL_LABELS
        assert e["evidence"]
    fleet = doc["fleet"]
    assert set(fleet["counts_by_cause"]) == set(ALL_LABELS)
    assert sum(fleet["counts_by_cause"].values()) == 30
    assert {"app_version", "sessions", "crashes", "crash_free_rate", "flagged"} <= set(
        fleet["crash_free_by_version"][0]
    )
    assert "brand_model" in fleet["crash_free_by_model"][0]
    for g in fleet["crash_groups"]:
        assert g["fingerprint"].startswith(g["exception"])
        assert g["cause"] in LABELS
    # undecided: every terminal under 0.50 sure, and those whose evidence is on a noise floor
    low = {t["tid"] for t in doc["terminals"] if t["episodes"] and t["confidence"] < 0.5}
    assert low <= {u["tid"] for u in fleet["undecided"]}
    assert all(u["tid"] in low or u["on_noise_floor"] for u in fleet["undecided"])
    assert fleet["input"]["malformed"] == 1
    assert fleet["input"]["malformed_lines"][0]["line"] == fleet["input"]["lines"]


def test_html_opens_offline_and_has_the_plots(small: Diagnosis) -> None:
    html = render(small)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert not re.search(r"<(img|link|iframe)\b", html)
    for title in (
        "Episodes per hour",
        "Terminals by cause",
        "Episodes by cause",
        "Crashed sessions by app version",
        "Crashed sessions by brand/model",
    ):
        assert f"<title>{title}</title>" in html
    worst = max(small.results, key=lambda r: r.episodes)
    assert f"id='t-{worst.tid}'" in html
    assert f"<title>{worst.tid}: episodes over the log</title>" in html
    assert html.count("<svg") >= 5


def test_json_roundtrips_to_file(small: Diagnosis, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    with out.open("w") as fh:
        write_json(small, fh)
    assert json.loads(out.read_text()) == json.loads(json.dumps(to_dict(small)))


def test_the_summary_and_the_html_list_every_terminal_it_could_not_decide(small: Diagnosis) -> None:
    from rich.console import Console

    from steadypos.diagnose.summary import print_summary

    unsure = small.undecided
    assert unsure and all(r.episodes and (r.confidence < 0.5 or r.on_floor) for r in unsure)
    decided = [r for r in small.results if r not in unsure and r.episodes]
    assert decided and all(r.confidence >= 0.5 and not r.on_floor for r in decided)
    out = Console(file=io.StringIO(), width=200)
    print_summary(small, out)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    title = f"Could not decide: {len(unsure)} terminal{'s' if len(unsure) != 1 else ''}"
    assert title in text
    table = text[text.index(title):]
    for r in unsure:
        assert r.tid in table and str(r.cause) in table
    assert all(r.tid not in table for r in decided)
    html = render(small)
    assert all(f"t-{r.tid}" in html for r in unsure)
