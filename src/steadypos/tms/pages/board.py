"""Page: the fleet board (terminals by status, open incidents by cause and severity, MTTA/MTTR,
crash-free sessions by release and by model, maintenance overdue, training gaps) with bar plots."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from steadypos import i18n
from steadypos.tms.deps import Db
from steadypos.tms.pages.bars import chart
from steadypos.tms.pages.web import Viewer, lang_of, render
from steadypos.tms.services import board
from steadypos.tms.services.board import CrashFree

router = APIRouter()


def _rates(rates: list[CrashFree]) -> list[tuple[str, str, float]]:
    return [(r.name, r.name, r.pct) for r in rates if r.pct is not None]


@router.get("/board", response_class=HTMLResponse)
def board_page(request: Request, db: Db, actor: Viewer) -> HTMLResponse:
    figures = board.gather(db, actor)
    lang = lang_of(request)

    def named(prefix: str, counts: dict[str, int]) -> list[tuple[str, str, float]]:
        return [(key, i18n.t(f"{prefix}.{key}", lang), n) for key, n in counts.items()]

    charts = {
        "status": chart(named("status", figures.terminals)),
        "cause": chart(named("board.cause", figures.open_by_cause)),
        "severity": chart(named("severity", figures.open_by_severity)),
        "release": chart(_rates(figures.by_release), 100, "%", 2),
        "model": chart(_rates(figures.by_model), 100, "%", 2),
    }
    return render(request, "board.html", actor, board=figures, charts=charts)
