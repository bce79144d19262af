"""The fleet board in a real headless Chromium, on SQLite and PostgreSQL: the figures of a
little fleet known in advance (terminals per status, open incidents per cause and severity,
MTTA/MTTR, crash-free rates by release and model, the overdue terminal, the untrained operator)
in Chinese and in English, and bar plots whose value axis starts at zero. One test per module:
this module's app holds only its fleet, so the figures are exact for ops too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import browser
from boardkit import (
    BY_MODEL,
    BY_RELEASE,
    MTTA,
    MTTR,
    OPEN_BY_CAUSE,
    OPEN_BY_SEVERITY,
    STATUSES,
    TRAINED,
    UNTRAINED,
    little_fleet,
)
from browser import log_in, shoot
from tmskit import Tms

pytestmark = browser.needs_chromium


def cells(page: Any, row: str) -> list[str]:
    return [c.strip() for c in page.locator(f"{row} td").all_inner_texts()]


def bars(page: Any, plot: str) -> dict[str, tuple[float, float]]:
    """Each bar of a plot: its key → (x where it starts, width)."""
    return {g.get_attribute("data-key"): (float(g.locator("rect").get_attribute("x")),
                                          float(g.locator("rect").get_attribute("width")))
            for g in page.locator(f"#{plot} g.bar").all()}


def check_figures(page: Any, lang: str) -> None:
    for status, n in STATUSES.items():
        assert cells(page, f"#board-terminals tr[data-status={status}]")[1] == str(n)
    assert [r.get_attribute("data-cause") for r in
            page.locator("#board-causes tr").all()] == list(OPEN_BY_CAUSE)
    for cause, n in OPEN_BY_CAUSE.items():
        assert cells(page, f"#board-causes tr[data-cause={cause}]")[1] == str(n)
    for severity, n in OPEN_BY_SEVERITY.items():
        assert cells(page, f"#board-severity tr[data-severity={severity}]")[1] == str(n)
    assert (page.inner_text("#board-mtta"), page.inner_text("#board-mttr")) == (
        str(MTTA), str(MTTR)) == ("16.2", "120.0")
    assert page.inner_text("#board-open") == "3"
    for kind, rates in (("release", BY_RELEASE), ("model", BY_MODEL)):
        for name, sessions, crashed, pct in rates:
            assert cells(page, f'#board-{kind} tr[data-{kind}="{name}"]')[1:] == [
                f"{pct:.2f}%", str(sessions), str(crashed)]
    overdue = page.locator("#board-overdue tbody tr")
    assert overdue.count() == 1
    row = cells(page, "#board-overdue tbody tr")
    assert row[-1] == "20" and row[2] == ("从未维护" if lang == "zh" else "never")
    assert page.locator(f"#board-gaps tr[data-operator={UNTRAINED}] td.errors").inner_text() == "2"
    assert page.locator(f"#board-gaps tr[data-operator={TRAINED}]").count() == 0


def check_plots(page: Any) -> None:
    """Every bar starts at the zero axis; lengths are proportional to the values."""
    status = bars(page, "plot-status")
    assert set(status) == set(STATUSES) and {x for x, _ in status.values()} == {160.0}
    assert status["retired"][1] == 0 and abs(status["active"][1] - 3 * status["locked"][1]) < 0.2
    assert page.locator("#plot-status text.tick").first.text_content() == "0"
    cause = bars(page, "plot-cause")
    assert cause["hardware_printer"][1] == 2 * cause["network"][1] > 0
    release = bars(page, "plot-release")
    right = float(page.locator("#plot-release line.grid").last.get_attribute("x1"))
    assert page.locator("#plot-release text.tick").last.text_content() == "100%"
    for name, _, _, pct in BY_RELEASE:  # the bar of 98% is 98% of the way from 0 to 100%
        x, width = release[name]
        assert abs(width - (right - x) * pct / 100) < 0.2
    assert set(bars(page, "plot-model")) == {name for name, *_ in BY_MODEL}
    assert page.locator("script").count() == 0


def test_the_board_shows_the_little_fleets_figures(tms: Tms, page: Any, tmp_path: Path) -> None:
    fleet = little_fleet(tms)
    log_in(page, "/ui/board")
    assert page.locator("nav a.on").inner_text() == "运维看板"
    assert page.locator("h1").inner_text() == "运维看板"
    check_figures(page, "zh")
    assert "打印机故障" in page.inner_text("#board-causes tr[data-cause=hardware_printer]")
    assert page.inner_text(f"#board-overdue tr[data-tid='{fleet.overdue_tid}'] a") == \
        fleet.overdue_tid
    check_plots(page)
    shoot(page, "board", tmp_path)
    page.goto("/ui/")
    assert page.inner_text("#count-overdue") == "1"  # the dashboard's tile leads to the list
    page.click("#count-overdue")
    page.wait_for_url("**/ui/board#board-overdue")
    page.click("#lang-switch")
    page.wait_for_url("**/ui/board*")
    assert page.locator("h1").inner_text() == "Fleet board"
    check_figures(page, "en")
    assert "Printer fault" in page.inner_text("#board-causes tr[data-cause=hardware_printer]")
    assert "Means over 3 acknowledged and 2 resolved" in page.inner_text("#board-mean-over")
    check_plots(page)
    page.click("#lang-switch")
