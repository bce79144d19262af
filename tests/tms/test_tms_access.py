"""Every route, taken from app.routes so that no new route escapes: an anonymous caller gets 401
on each non-public one; a merchant user of another merchant gets 403 or 404 on each, and the
routes it may call (its own lists, who am I) show nothing of the other merchant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount
from tmskit import PASSWORD, Tms

from steadypos.tms.app import PUBLIC

# Routes a merchant may call for itself: they answer 200, without the other merchant's data.
OWN = {("GET", p) for p in ("/api/v1/auth/me", "/api/v1/applications", "/api/v1/merchants",
                            "/api/v1/terminals", "/api/v1/audit", "/api/v1/alerts", "/ui/",
                            "/ui/applications",
                            "/ui/merchants", "/ui/terminals", "/api/v1/incidents",
                            "/api/v1/incidents/stats", "/api/v1/maintenance/due",
                            "/api/v1/training/gaps", "/ui/incidents", "/ui/board")}
SKIP_AS_MERCHANT = {("POST", "/api/v1/auth/logout"), ("POST", "/ui/logout")}  # ends the walk


def routes(tms: Tms) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, included routers' routes flattened."""
    for route in iter_route_contexts(tms.client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route.original_route, Mount):
            yield "GET", str(route.path)
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield method, str(route.path)


def fill(path: str, ids: dict[str, str]) -> str:
    path = path.replace("/ui/static", "/ui/static/tms.css")
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "approve"), path)


@pytest.fixture(scope="module")
def world(tms: Tms) -> dict[str, Any]:
    """Merchant A with an application, an active-looking terminal and a user; merchant B's user
    walks A's records."""
    from tmskit import application

    app_id = tms.ok("POST", "/applications", 201, None, json=application())["id"]
    mid_a = tms.ok("POST", f"/applications/{app_id}/approve")["mid"]
    tid, _, _ = tms.shipped(mid_a)
    tms.user("alice", "merchant", mid_a)
    tms.user("bob", "merchant", tms.merchant())
    user_a = tms.ok("GET", "/users", as_user="admin")["items"][-2]["id"]
    with tms.ctx.sessions() as db:  # an incident of A's terminal
        from steadypos.tms.services import alerts

        alerts.raise_alert(db, f"diagnosis:{tid}:network", "tid", tid, "network", "low",
                           ["net down 3 times"], mid=mid_a)
        db.commit()
    incident = tms.ok("GET", "/incidents", params={"cause": "network"})["items"][0]["id"]
    page = tms.client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    tms.client.post("/ui/login", data={"username": "bob", "password": PASSWORD,
                                       "csrf": csrf.group(1)}, follow_redirects=False)
    found = re.search(r'name="csrf" value="([^"]+)"', tms.client.get("/ui/").text)
    assert found is not None
    cookies = dict(tms.client.cookies)
    tms.client.cookies.clear()
    return {"ids": {"app_id": app_id, "mid": mid_a, "tid": tid, "user_id": user_a,
                    "lang": "en", "decision": "approve", "action": "lock",
                    "incident_id": incident, "step": "1", "operator": "op1"},
            "secret": [mid_a, tid, "alice"], "bob_cookies": cookies, "bob_csrf": found.group(1)}


def test_the_walk_covers_api_and_pages(tms: Tms) -> None:
    paths = {p for _, p in routes(tms)}
    assert "/api/v1/terminals/{tid}/retire" in paths and "/ui/terminals/{tid}/{action}" in paths
    assert len(paths) > 25


def test_anonymous_gets_401_on_every_non_public_route(tms: Tms, world: dict[str, Any]) -> None:
    checked = 0
    for method, path in routes(tms):
        if (method, path) in PUBLIC:
            continue
        r = tms.client.request(method, fill(path, world["ids"]), follow_redirects=False)
        assert r.status_code == 401, f"{method} {path}: {r.status_code}"
        checked += 1
    assert checked > 20


def test_public_routes_answer_without_login(tms: Tms) -> None:
    assert tms.client.get("/openapi.json").status_code == 200
    assert tms.client.get("/ui/login").status_code == 200
    assert tms.client.get("/ui/static/tms.css").status_code == 200


def test_another_merchant_sees_and_changes_nothing(tms: Tms, world: dict[str, Any]) -> None:
    bob = tms.headers["bob"]
    checked = 0
    for method, path in routes(tms):
        key = (method, path)
        if key in PUBLIC or key in SKIP_AS_MERCHANT:
            continue
        url = fill(path, world["ids"])
        if path.startswith("/ui"):
            tms.client.cookies.update(world["bob_cookies"])
            r = tms.client.request(method, url, data={"csrf": world["bob_csrf"], "reason": "x",
                                                      "carrier": "x", "tracking_no": "SF123456"},
                                   follow_redirects=False)
            tms.client.cookies.clear()
        else:
            r = tms.client.request(method, url, headers=bob, json={"reason": "x"})
        if key in OWN:
            assert r.status_code == 200, f"{method} {path}: {r.status_code}"
            for secret in world["secret"]:
                assert secret not in r.text, f"{method} {path} shows {secret}"
        else:
            assert r.status_code in (403, 404), f"{method} {path}: {r.status_code} {r.text[:80]}"
        checked += 1
    assert checked > 20
    # And nothing changed: A's terminal is still shipped, A's application still approved.
    ids = world["ids"]
    assert tms.ok("GET", f"/terminals/{ids['tid']}")["status"] == "shipped"
    assert tms.ok("GET", f"/applications/{ids['app_id']}")["status"] == "approved"


def test_a_merchant_user_sees_its_own(tms: Tms, world: dict[str, Any]) -> None:
    ids = world["ids"]
    own = tms.ok("GET", "/terminals", as_user="alice")
    assert [t["tid"] for t in own["items"]] == [ids["tid"]] and own["total"] == 1
    assert tms.ok("GET", f"/terminals/{ids['tid']}", as_user="alice")["mid"] == ids["mid"]
    assert tms.ok("GET", f"/merchants/{ids['mid']}", as_user="alice")["mid"] == ids["mid"]
    audit = tms.ok("GET", "/audit", as_user="alice")["items"]
    assert audit and all(e["mid"] == ids["mid"] for e in audit)
    assert tms.call("POST", f"/terminals/{ids['tid']}/lock", as_user="alice").status_code == 403
