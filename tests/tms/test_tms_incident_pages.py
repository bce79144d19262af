"""The incident pages through the app (server-rendered HTML): the list with MTTA/MTTR, an
incident with its runbook in the page's language, ack, a step ticked off, a one-click action
and resolve, each changing the state the API then reports."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tmskit import PASSWORD, Tms, active

from steadypos.tms.services import alerts


def logged_in(tms: Tms, username: str, lang: str) -> tuple[TestClient, str]:
    client = TestClient(tms.client.app)
    client.get(f"/ui/lang/{lang}")
    form = client.get("/ui/login").text
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert login_csrf is not None
    client.post("/ui/login", data={"username": username, "password": PASSWORD,
                                   "csrf": login_csrf.group(1)}, follow_redirects=False)
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/").text)
    assert found is not None
    return client, found.group(1)


def test_an_incident_worked_through_its_page(tms: Tms) -> None:
    mid = tms.merchant()
    (tid, _), = active(tms, mid)
    with tms.ctx.sessions() as db:
        alert = alerts.raise_alert(db, f"diagnosis:{tid}:hardware_printer", "tid", tid,
                                   "hardware_printer", "high", ["printer head_fault before 4 of 4 "
                                                                "exits"], mid=mid)
        db.commit()
        assert alert.id
    inc = [i for i in tms.ok("GET", "/incidents")["items"] if i["scope"] == {"tid": tid}][0]
    client, csrf = logged_in(tms, "ops", "zh")
    listing = client.get("/ui/incidents").text
    assert f'data-id="{inc["id"]}" data-status="triggered"' in listing and "平均确认时间" in listing
    page = client.get(f"/ui/incidents/{inc['id']}").text
    assert "清洁打印头，损坏则更换" in page and 'id="action-schedule_maintenance"' in page
    assert "printer head_fault before 4 of 4 exits" in page
    url = f"/ui/incidents/{inc['id']}"
    for verb, data in (("ack", {}), ("step", {"step": "1", "done": "1"}),
                       ("schedule_maintenance", {}), ("resolve", {"note": "head cleaned"})):
        r = client.post(f"{url}/{verb}", data={"csrf": csrf, **data}, follow_redirects=False)
        assert r.status_code == 303, (verb, r.status_code, r.text[:200])
    now = tms.ok("GET", f"/incidents/{inc['id']}")
    assert (now["status"], now["note"], now["runbook"][0]["done"]) == (
        "resolved", "head cleaned", True)
    assert now["evidence"][-1] == "user:ops: schedule_maintenance"
    english, _ = logged_in(tms, "ops", "en")
    assert "Clean the print head; replace it if faulty" in english.get(url).text
    forged = client.post(f"{url}/ack", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code in (400, 403)
