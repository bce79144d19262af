"""Applications, review, merchants, assignment and shipping through the API, on SQLite and
PostgreSQL: real validation (422 naming the field), conflicts (409), the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tmskit import Tms, application, licence

from steadypos.tms.models import FleetTerminal

# Published codes of real companies (check character per GB 32100-2015) and altered copies.
REAL_CODES = ["914403001922038216", "91330100799655058B", "9144030071526726XG",
              "91110108551385082Q", "91350100M000100Y43"]
BAD_CODES = {"914403001922038217": "check character does not match",
             "91330100799655058C": "check character does not match",
             "9144030071526726X": "must be 18 characters",
             "91440300715267260I": "characters not allowed in a credit code: I"}


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_credit_codes_are_accepted(tms: Tms, code: str) -> None:
    r = tms.call("POST", "/applications", None, json=application(licence_no=code))
    assert r.status_code == 201, r.text
    assert tms.ok("GET", f"/applications/{r.json()['id']}")["licence_no"] == code


@pytest.mark.parametrize(("code", "why"), sorted(BAD_CODES.items()))
def test_bad_credit_codes_get_422_naming_the_field(tms: Tms, code: str, why: str) -> None:
    r = tms.call("POST", "/applications", None, json=application(licence_no=code))
    assert r.status_code == 422
    assert r.json() == {"detail": f"licence_no: {why}"}


@pytest.mark.parametrize("phone", ["1391234567", "139123456789", "23912345678", "1291234567a",
                                   "12012345678"])
def test_mobile_must_be_11_digits(tms: Tms, phone: str) -> None:
    r = tms.call("POST", "/applications", None, json=application(contact_phone=phone))
    assert r.status_code == 422
    assert r.json()["detail"].startswith("contact_phone: must be an 11-digit mainland mobile")


@pytest.mark.parametrize(("field", "value"), [("terminals_requested", 0),
                                              ("settlement_account", "12-34"),
                                              ("legal_name", "  "), ("address", "a\x00b"),
                                              ("contact_name", "x" * 101)])
def test_other_bad_fields_are_named(tms: Tms, field: str, value: object) -> None:
    r = tms.call("POST", "/applications", None, json=application(**{field: value}))
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"{field}: ")


def test_duplicate_licence_is_409_until_rejected(tms: Tms) -> None:
    code = licence()
    first = tms.ok("POST", "/applications", 201, None, json=application(licence_no=code))
    assert first["status"] == "submitted"
    dup = tms.call("POST", "/applications", None, json=application(licence_no=code))
    assert dup.status_code == 409 and dup.json()["detail"].startswith("licence_no: ")
    rejected = tms.ok("POST", f"/applications/{first['id']}/reject",
                      json={"reason": "营业执照照片不清晰"})
    assert rejected == {"status": "rejected", "mid": None, "reason": "营业执照照片不清晰"}
    again = tms.ok("POST", "/applications", 201, None, json=application(licence_no=code))
    tms.ok("POST", f"/applications/{again['id']}/approve")
    assert tms.call("POST", "/applications", None,
                    json=application(licence_no=code)).status_code == 409


def test_approve_makes_a_merchant_with_a_15_digit_mid(tms: Tms) -> None:
    app_id = tms.ok("POST", "/applications", 201, None, json=application())["id"]
    decision = tms.ok("POST", f"/applications/{app_id}/approve")
    assert decision["status"] == "approved" and len(decision["mid"]) == 15
    assert decision["mid"].isdigit()
    merchant = tms.ok("GET", f"/merchants/{decision['mid']}")
    assert merchant["application_id"] == app_id
    assert merchant["settlement_account"] == "***************4455"
    for second in ("approve", "reject"):
        r = tms.call("POST", f"/applications/{app_id}/{second}", json={"reason": "again"})
        assert r.status_code == 409, second
    assert tms.call("POST", "/applications/999999/approve").status_code == 404


def test_assign_and_ship(tms: Tms) -> None:
    mid = tms.merchant()
    tid = tms.terminal(mid, "SN-A920-0001")
    assert len(tid) == 8
    assert tms.ok("GET", f"/terminals/{tid}")["status"] == "assigned"
    clash = tms.call("POST", "/terminals", json={"mid": mid, "serial": "SN-A920-0001",
                                                 "brand": "PAX", "model": "A920",
                                                 "firmware": "1"})
    assert clash.status_code == 409 and clash.json()["detail"].startswith("serial: ")
    unknown = tms.call("POST", "/terminals", json={"mid": "899999999999999", "serial": "X1",
                                                   "brand": "PAX", "model": "A920",
                                                   "firmware": "1"})
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("mid: ")
    shipped = tms.ok("POST", f"/terminals/{tid}/ship",
                     json={"carrier": "SF Express", "tracking_no": "SF1234567890"})
    code = shipped["activation_code"]
    assert shipped["status"] == "shipped" and len(code) == 19
    with tms.ctx.sessions() as db:
        stored = db.scalar(select(FleetTerminal).where(FleetTerminal.tid == tid))
        assert stored is not None and stored.code_hash is not None
        assert code not in stored.code_hash and stored.code_hash.startswith("$argon2id$")
    assert code not in tms.call("GET", f"/terminals/{tid}").text
    assert code not in tms.call("GET", "/audit", params={"entity_id": tid}).text
    again = tms.call("POST", f"/terminals/{tid}/ship",
                     json={"carrier": "SF", "tracking_no": "SF999999"})
    assert again.status_code == 409
    assert tms.call("POST", f"/terminals/{tid}/lock").status_code == 409


def test_filters_and_list_shape(tms: Tms) -> None:
    mid = tms.merchant()
    tids = [tms.terminal(mid, model=model) for model in ("A920", "A920", "N86")]
    page = tms.ok("GET", "/terminals", params={"mid": mid, "model": "A920"})
    assert page["total"] == 2 and {t["tid"] for t in page["items"]} == set(tids[:2])
    assert tms.ok("GET", "/terminals", params={"mid": mid, "limit": 1})["total"] == 3
    assert len(tms.ok("GET", "/terminals", params={"mid": mid, "limit": 1})["items"]) == 1
    assert tms.ok("GET", "/terminals", params={"q": tids[2]})["items"][0]["model"] == "N86"
    assert tms.call("GET", "/terminals", params={"limit": 1001}).status_code == 422
    one = tms.ok("GET", f"/terminals/{tids[0]}")
    # One terminal is its list entry plus its telemetry history (only GET /terminals/{tid} has it).
    assert one.pop("history") == [] and next(
        t for t in page["items"] if t["tid"] == tids[0]).pop("history") is None
    assert one == next(t for t in page["items"] if t["tid"] == tids[0])


def test_every_change_is_audited_with_before_and_after(tms: Tms) -> None:
    app_id = tms.ok("POST", "/applications", 201, None, json=application())["id"]
    mid = tms.ok("POST", f"/applications/{app_id}/approve")["mid"]
    tid, _, _ = tms.shipped(mid)
    entries = tms.ok("GET", "/audit", params={"entity_id": app_id, "entity": "application"})
    actions = [(e["action"], e["actor"]) for e in entries["items"]]
    assert actions == [("application.approve", "user:ops"), ("application.submit", "anonymous")]
    approve = entries["items"][0]
    assert approve["before"]["status"] == "submitted" and approve["after"]["mid"] == mid
    assert approve["at"].endswith("Z")
    ship = tms.ok("GET", "/audit", params={"entity_id": tid})["items"]
    assert [e["action"] for e in ship] == ["terminal.ship", "terminal.assign"]
    assert (ship[0]["before"]["status"], ship[0]["after"]["status"]) == ("assigned", "shipped")


def test_a_request_that_fails_half_way_leaves_nothing(tms: Tms,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The approval writes a merchant, the application and an audit entry in one transaction:
    a failure at the audit entry leaves the application waiting and no merchant."""
    from sqlalchemy import func

    from steadypos.tms import audit
    from steadypos.tms.models import Application, Merchant

    app_id = tms.ok("POST", "/applications", 201, None, json=application())["id"]
    with tms.ctx.sessions() as db:
        merchants = db.scalar(select(func.count()).select_from(Merchant))

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        tms.call("POST", f"/applications/{app_id}/approve")
    monkeypatch.undo()
    with tms.ctx.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Merchant)) == merchants
        application_row = db.get(Application, int(app_id))
        assert application_row is not None and application_row.status == "submitted"
    assert tms.ok("POST", f"/applications/{app_id}/approve")["status"] == "approved"
