"""Pages: releases with their health, rollouts with their stages and state, and a rollout's
crash-free rate over time against the release it replaces (halt / resume / rollback)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from steadypos.tms.deps import Db
from steadypos.tms.fleet_models import Release, Rollout
from steadypos.tms.pages.plot import Line, plot
from steadypos.tms.pages.web import StaffViewer, check_csrf, form_of, render, see_other
from steadypos.tms.services import crashfree, releases, rollouts

router = APIRouter()
RolloutId = Annotated[int, Path(ge=1, le=999_999_999)]


@router.get("/releases", response_class=HTMLResponse)
def overview(request: Request, db: Db, actor: StaffViewer) -> HTMLResponse:
    rows = list(db.scalars(select(Release).order_by(Release.created_at.desc()).limit(200)))
    runs = list(db.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(200)))
    for run in runs:
        rollouts.evaluate(db, run)  # as GET /rollouts/{id} does: the state shown is current
    db.commit()
    return render(request, "releases.html", actor, releases=rows,
                  health={r.version: releases.health(db, r.version) for r in rows},
                  rollouts=runs, counts={r.id: rollouts.counts(db, r.id) for r in runs})


@router.get("/rollouts/{rollout_id}", response_class=HTMLResponse)
def rollout_page(request: Request, rollout_id: RolloutId, db: Db,
                 actor: StaffViewer) -> HTMLResponse:
    run = rollouts.get(db, rollout_id)
    rollouts.evaluate(db, run)
    db.commit()
    new, old = crashfree.series(db, run)
    lines = [Line(name, s.label, [(p.at, p.pct) for p in s.points if p.pct is not None])
             for name, s in (("new", new), ("old", old))]
    rate_new, rate_old = rollouts.rates(db, run)
    actions = [a for a, (allowed, _) in rollouts.TRANSITIONS.items() if run.state in allowed]
    return render(request, "rollout.html", actor, run=run, counts=rollouts.counts(db, run.id),
                  chart=plot(lines), new=new, old=old, rate_new=rate_new, rate_old=rate_old,
                  actions=actions)


@router.post("/rollouts/{rollout_id}/{action}")
async def rollout_action(request: Request, rollout_id: RolloutId, action: str, db: Db,
                         actor: StaffViewer) -> Response:
    check_csrf(actor, (await form_of(request)).get("csrf"))
    if action not in rollouts.TRANSITIONS:
        return render(request, "error.html", actor, 404, status=404, detail="no such page")
    rollouts.change(db, actor, rollout_id, action)
    db.commit()
    return see_other(f"/ui/rollouts/{rollout_id}")
