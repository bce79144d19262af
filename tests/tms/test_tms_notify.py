"""Notifications of incidents: a webhook gets one signed JSON POST per event, retried with
back-off under the same idempotency key until it is taken; an incident not acknowledged in time
is escalated once; an e-mail hook sends a bilingual mail to a local SMTP sink."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sinks import SmtpSink, WebhookSink
from sqlalchemy import select
from tmskit import Tms

from steadypos.tms import sweeper
from steadypos.tms.models import utcnow
from steadypos.tms.ops_models import Incident
from steadypos.tms.services import alerts, notify

SECRET = "s3cret-for-tests"


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink(fail_first=2)
    yield sink
    sink.close()


def _only_hook(tms: Tms, hook: dict[str, str]) -> None:
    """`hook` the one hook (through the API: admins only, the secret never shown)."""
    for old in tms.ok("GET", "/notify-hooks", as_user="admin")["items"]:
        tms.ok("DELETE", f"/notify-hooks/{old['id']}", 204, as_user="admin")
    assert tms.call("POST", "/notify-hooks", json=hook).status_code == 403  # ops
    bad = {**hook, "target": "alice" if hook["kind"] == "email" else "ftp://x"}
    assert tms.call("POST", "/notify-hooks", as_user="admin", json=bad).status_code == 422
    made = tms.ok("POST", "/notify-hooks", 201, as_user="admin", json=hook)
    assert made["signed"] == ("secret" in hook) and "secret" not in made


def _raise(tms: Tms, key: str, severity: str = "high") -> int:
    with tms.ctx.sessions() as db:
        alert = alerts.raise_alert(db, key, "tid", key[-8:], "printer_jam", severity,
                                   ["jam at 10:00"])
        db.commit()
        return int(db.scalars(select(Incident.id).where(Incident.dedup_key == alert.dedup_key,
                                                        Incident.status != "resolved")).one())


def _deliver(tms: Tms, at_offset: timedelta, smtp: tuple[str, int] | None = None) -> dict[str, int]:
    with tms.ctx.sessions() as db:
        counts = notify.deliver_due(db, smtp, "tms@test", utcnow() + at_offset)
        db.commit()
        return counts


def test_webhook_signed_retried_once_delivered_then_escalated(tms: Tms,
                                                              webhook: WebhookSink) -> None:
    _only_hook(tms, {"owner": "team-ops", "kind": "webhook", "target": webhook.url,
                     "secret": SECRET})
    inc_id = _raise(tms, "notify-test:T0000001")
    _raise(tms, "notify-test:T0000001")  # the same alert again: no second notification
    assert _deliver(tms, timedelta(0)) == {"delivered": 0, "retry": 1, "failed": 0}
    assert _deliver(tms, timedelta(0)) == {"delivered": 0, "retry": 0, "failed": 0}  # backing off
    assert _deliver(tms, timedelta(seconds=31)) == {"delivered": 0, "retry": 1, "failed": 0}
    assert _deliver(tms, timedelta(seconds=31 + 61)) == {"delivered": 1, "retry": 0,
                                                          "failed": 0}
    assert _deliver(tms, timedelta(hours=2)) == {"delivered": 0, "retry": 0, "failed": 0}
    assert len(webhook.received) == 3
    keys = {h["Idempotency-Key"] for h, _ in webhook.received}
    assert len(keys) == 1
    headers, body = webhook.received[-1]
    assert headers["X-Steadypos-Signature"] == notify.sign(SECRET, body)
    doc = json.loads(body)
    assert doc["event"] == "opened" and doc["incident"]["id"] == inc_id
    assert doc["incident"]["cause"] == "printer_jam" and doc["idempotency_key"] in keys

    with tms.ctx.sessions() as db:  # not acknowledged within 15 minutes: escalated, once
        assert notify.escalate(db, utcnow() + timedelta(minutes=10)) == []
        assert inc_id in notify.escalate(db, utcnow() + timedelta(minutes=16))
        assert inc_id not in notify.escalate(db, utcnow() + timedelta(minutes=30))
        db.commit()
    assert _deliver(tms, timedelta(hours=3))["delivered"] == 1
    assert len(webhook.received) == 4
    doc = json.loads(webhook.received[-1][1])
    assert doc["event"] == "escalated" and doc["incident"]["id"] == inc_id
    assert webhook.received[-1][0]["Idempotency-Key"] not in keys


def test_email_hook_sends_a_bilingual_mail_to_the_smtp_sink(tms: Tms) -> None:
    sink = SmtpSink()
    try:
        _only_hook(tms, {"owner": "alice", "kind": "email", "target": "alice@example.test"})
        inc_id = _raise(tms, "notify-mail:T0000002", severity="low")
        assert _deliver(tms, timedelta(0), smtp=None)["retry"] == 1  # no SMTP yet: waits
        assert _deliver(tms, timedelta(minutes=5), smtp=sink.addr)["delivered"] == 1
    finally:
        sink.close()
    assert len(sink.mails) == 1
    mail = sink.mails[0]
    assert mail["To"] == "alice@example.test"
    subject = str(mail["Subject"])
    assert f"incident {inc_id}" in subject and f"事件 {inc_id}" in subject


def test_the_sweeper_delivers_what_is_owed(tms: Tms) -> None:
    sink = WebhookSink()
    try:
        _only_hook(tms, {"owner": "team-night", "kind": "webhook", "target": sink.url})
        inc_id = _raise(tms, "notify-sweep:T0000003")
        sweeper.sweep_once(tms.ctx)
        sweeper.sweep_once(tms.ctx)  # nothing owed twice
    finally:
        sink.close()
    assert [json.loads(body)["incident"]["id"] for _, body in sink.received] == [inc_id]
    assert "X-Steadypos-Signature" not in sink.received[0][0]  # a hook without a secret
