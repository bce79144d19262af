"""Pages: incidents (filter by status, MTTA/MTTR) and an incident (scope, evidence, runbook in
the page's language with its steps ticked off, the one-click actions, ack / resolve, the
remedy's before/after figure)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from steadypos.tms.deps import Ctx, Db
from steadypos.tms.ops_models import IncidentState
from steadypos.tms.pages.web import Viewer, check_csrf, form_of, lang_of, render, see_other
from steadypos.tms.schemas.incidents import ActionIn, IncidentOut
from steadypos.tms.services import incidents, remedies, runbooks
from steadypos.tms.services.runbooks import Action

router = APIRouter()
IncidentId = Annotated[int, Path(ge=1, le=999_999_999)]


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(request: Request, db: Db, actor: Viewer, status: str = "") -> HTMLResponse:
    wanted = status if status in IncidentState.__members__.values() else None
    rows, total = incidents.listing(db, actor, wanted, None, None, 500, 0)
    return render(request, "incidents.html", actor, rows=[IncidentOut.of(i) for i in rows],
                  total=total, status=wanted or "", statuses=[s.value for s in IncidentState],
                  stats=incidents.stats(db, actor))


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: IncidentId, db: Db,
                  actor: Viewer) -> HTMLResponse:
    inc = incidents.get(db, actor, incident_id)
    lang = lang_of(request)
    steps = [(n, text, n in inc.steps_done)
             for n, text in enumerate(runbooks.steps(inc.cause, lang), 1)]
    return render(request, "incident.html", actor, inc=IncidentOut.of(inc), steps=steps,
                  staff=actor.scope_mid is None)


@router.post("/incidents/{incident_id}/{verb}")
async def incident_change(request: Request, incident_id: IncidentId, verb: str, db: Db,
                          ctx: Ctx, actor: Viewer) -> Response:
    """ack, resolve (with a note), step (tick one off), or one of the runbook's actions."""
    form = await form_of(request)
    check_csrf(actor, form.get("csrf"))
    if verb == "ack":
        incidents.ack(db, actor, incident_id)
    elif verb == "resolve":
        incidents.resolve(db, actor, incident_id, (form.get("note") or "").strip()[:300] or None)
    elif verb == "step" and (form.get("step") or "").isdigit():
        incidents.tick(db, actor, incident_id, int(form["step"]), form.get("done") != "0")
    elif verb in Action.__members__.values() and actor.scope_mid is None:
        remedies.act(db, ctx, actor, incident_id,
                     ActionIn(action=Action(verb), operator=form.get("operator") or None))
    else:
        return render(request, "error.html", actor, 404, status=404, detail="no such page")
    db.commit()
    return see_other(f"/ui/incidents/{incident_id}")
