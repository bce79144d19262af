"""Notifications: a new incident, and one not acknowledged within its severity's time
(escalated), are owed to every hook once (an outbox row per hook and event, unique key);
webhooks get a JSON POST signed with HMAC-SHA256, e-mail hooks a bilingual mail through the
configured SMTP server; a failed attempt is retried with exponential back-off, then given up."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos import i18n
from steadypos.tms.models import utcnow
from steadypos.tms.notify_models import HookKind, Notification, NotifyEvent, NotifyHook
from steadypos.tms.ops_models import Incident, IncidentState, Severity

ACK_WITHIN = {Severity.HIGH: timedelta(minutes=15), Severity.LOW: timedelta(hours=4)}
BACKOFF = timedelta(seconds=30)  # doubled after each failed attempt
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 8
SIGNATURE_HEADER = "X-Steadypos-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TIMEOUT_S = 10.0
# (target, body, headers) -> raises on failure; (smtp host, port, mail) -> raises on failure
Post = Callable[[str, bytes, dict[str, str]], None]


def post_json(url: str, body: bytes, headers: dict[str, str]) -> None:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - ops' own URL
        if not 200 <= resp.status < 300:
            raise OSError(f"HTTP {resp.status}")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def owe(db: Session, inc: Incident, event: NotifyEvent) -> int:
    """Outbox rows for `event` of `inc`, one per hook, none twice; how many were added."""
    added = 0
    for hook in db.scalars(select(NotifyHook)):
        key = f"incident-{inc.id}-{inc.reopened}-{event.value}-hook-{hook.id}"
        if db.scalar(select(Notification.id).where(Notification.idem_key == key)) is None:
            db.add(Notification(idem_key=key, hook_id=hook.id, incident_id=inc.id,
                                event=event, next_at=utcnow()))
            added += 1
    db.flush()
    return added


def escalate(db: Session, now: datetime | None = None) -> list[int]:
    """Incidents still triggered past their acknowledgement time: escalated once, owed."""
    now = now or utcnow()
    late = []
    for inc in db.scalars(select(Incident).where(Incident.status == IncidentState.TRIGGERED,
                                                 Incident.escalated_at.is_(None),
                                                 Incident.merged_into.is_(None))):
        within = ACK_WITHIN.get(Severity(inc.severity), ACK_WITHIN[Severity.LOW])
        if inc.opened_at + within <= now:
            inc.escalated_at = now
            owe(db, inc, NotifyEvent.ESCALATED)
            late.append(inc.id)
    return late


def payload(inc: Incident, event: str, key: str) -> dict[str, object]:
    return {"event": event, "idempotency_key": key, "incident": {
        "id": inc.id, "scope": inc.scope, "subject": inc.subject, "cause": inc.cause,
        "severity": inc.severity, "status": inc.status, "opened_at": inc.opened_at.isoformat(),
        "evidence": inc.evidence[-5:]}}


def mail(inc: Incident, event: str, to: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    values = {"id": inc.id, "cause": inc.cause, "subject": inc.subject,
              "severity": inc.severity}
    msg["Subject"] = " / ".join(i18n.t(f"notify.{event}.subject", lang, **values)
                                for lang in i18n.LANGUAGES)
    msg["From"], msg["To"] = sender, to
    msg.set_content("\n\n".join(i18n.t(f"notify.{event}.body", lang, **values)
                                for lang in i18n.LANGUAGES))
    return msg


def send_mail(smtp: tuple[str, int], msg: EmailMessage) -> None:
    with smtplib.SMTP(*smtp, timeout=TIMEOUT_S) as conn:
        conn.send_message(msg)


def deliver_due(db: Session, smtp: tuple[str, int] | None, sender: str,
                now: datetime | None = None, post: Post = post_json) -> dict[str, int]:
    """Every owed notification whose time has come, attempted once: counts by outcome."""
    now = now or utcnow()
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    due = db.scalars(select(Notification).where(Notification.delivered_at.is_(None),
                                                Notification.failed.is_(False),
                                                Notification.next_at <= now)).all()
    for note in due:
        hook, inc = db.get(NotifyHook, note.hook_id), db.get(Incident, note.incident_id)
        note.attempts += 1
        try:
            if hook is None or inc is None:
                raise LookupError("hook or incident gone")
            _send(hook, inc, note, smtp, sender, post)
        except (OSError, LookupError, smtplib.SMTPException) as exc:
            note.last_error = str(exc)[:500]
            note.failed = note.attempts >= MAX_ATTEMPTS
            note.next_at = now + min(BACKOFF * 2 ** (note.attempts - 1), MAX_BACKOFF)
            counts["failed" if note.failed else "retry"] += 1
            continue
        note.delivered_at, note.last_error = now, None
        counts["delivered"] += 1
    db.flush()
    return counts


def _send(hook: NotifyHook, inc: Incident, note: Notification, smtp: tuple[str, int] | None,
          sender: str, post: Post) -> None:
    if hook.kind == HookKind.EMAIL:
        if smtp is None:
            raise LookupError("no SMTP server configured")
        send_mail(smtp, mail(inc, note.event, hook.target, sender))
        return
    body = json.dumps(payload(inc, note.event, note.idem_key), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: note.idem_key}
    if hook.secret:
        headers[SIGNATURE_HEADER] = sign(hook.secret, body)
    post(hook.target, body, headers)

