"""Operational alerts: one message when a problem opens, one when it resolves.

An Incident row is written in the caller's transaction, and with it the alert
mail to ALERT_EMAILS in the outbox (outbox.services.mail_queue: retried until
sent, its status in the admin). The chat webhook is posted after commit by a
Celery task. Both go out inline if the broker itself is down, since that is
exactly when staff need to hear from us. A failed webhook post is logged and
kept on the incident (notify_error); it never breaks the caller.
"""

import logging

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.queueing import enqueue
from outbox.services import mail_queue

from .models import Incident

logger = logging.getLogger("alerts")

WEBHOOK_TIMEOUT_SECONDS = 5
# Discord refuses a "content" longer than this.
WEBHOOK_TEXT_LIMIT = 2000


def incident_open(key, title, detail, *, link=None) -> Incident | None:
    """Open the incident `key` and alert, unless one is already open for it.

    Returns the new Incident, or None when one was already open (its
    last_seen_at is refreshed and nothing is sent), so a detector may call this
    as often as it likes. The partial unique constraint decides races; the
    losing insert is rolled back to a savepoint, leaving the caller's
    transaction usable.
    """
    if link and link not in detail:
        detail = f"{detail}\n{link}"
    if Incident.objects.filter(key=key, resolved_at__isnull=True).update(last_seen_at=timezone.now()):
        return None
    try:
        with transaction.atomic():
            incident = Incident.objects.create(key=key, title=title, detail=detail)
    except IntegrityError:
        # A concurrent caller opened it between our update and insert: theirs alerts.
        logger.info("incident_already_open key=%s", key)
        return None
    logger.warning("incident_opened key=%s title=%r", key, title)
    incident_mail_queue(incident, "opened")
    transaction.on_commit(lambda: incident_notify_later(incident.pk, "opened"))
    return incident


def incident_resolve(key, note) -> Incident | None:
    """Resolve the open incident `key` and send one "resolved" message.
    Returns None when no incident is open for the key."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(key=key, resolved_at__isnull=True).first()
        if incident is None:
            return None
        incident.resolved_at = timezone.now()
        incident.detail = f"{incident.detail}\n\nResolved: {note}"
        incident.save(update_fields=["resolved_at", "detail", "last_seen_at"])
        incident_mail_queue(incident, "resolved", note)
        transaction.on_commit(lambda: incident_notify_later(incident.pk, "resolved", note))
    logger.info("incident_resolved key=%s note=%r", key, note)
    return incident


def incident_notify_later(incident_id, event, note=""):
    from .tasks import send_incident_alert  # tasks import this module

    if not enqueue(send_incident_alert, incident_id, event, note):
        incident_notify(incident_id, event, note)


def incident_message(incident, event, note=""):
    if event == "resolved":
        return f"[RESOLVED] {incident.title}", f"Resolved: {note}\n\nWas: {incident.title} (key {incident.key})"
    return f"[ALERT] {incident.title}", incident.detail


def incident_mail_queue(incident, event, note=""):
    """The incident's opened/resolved mail to ALERT_EMAILS, in the caller's transaction."""
    subject, body = incident_message(incident, event, note)
    return mail_queue(
        f"incident:{incident.pk}:{event}",
        to=settings.ALERT_EMAILS,
        subject=subject,
        body=body,
        send_inline_if_broker_down=True,
    )


def incident_notify(incident_id, event, note="") -> list[str]:
    """Post the opened/resolved message of an incident to the chat webhook; record
    the outcome on it (notified_at, or notify_error naming what failed). Its mail
    is already in the outbox (incident_mail_queue)."""
    incident = Incident.objects.get(pk=incident_id)
    subject, body = incident_message(incident, event, note)
    errors = alert_webhook_send(subject, body)
    if errors:
        incident.notify_error = f"{timezone.now():%Y-%m-%d %H:%M:%S %Z} {event}: " + "; ".join(errors)
        incident.save(update_fields=["notify_error"])
    else:
        Incident.objects.filter(pk=incident.pk).update(notified_at=timezone.now(), notify_error="")
    return errors


def alert_webhook_send(subject, body) -> list[str]:
    """Post to ALERT_WEBHOOK_URL when set. Returns one error string when the post
    failed, or when no channel at all is configured (mail goes through the
    outbox); never raises for a delivery problem."""
    errors = []
    if settings.ALERT_WEBHOOK_URL:
        text = f"{subject}\n{body}"[:WEBHOOK_TEXT_LIMIT]
        try:
            response = requests.post(
                settings.ALERT_WEBHOOK_URL, json={"text": text, "content": text}, timeout=WEBHOOK_TIMEOUT_SECONDS
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            logger.error("alert_webhook_failed subject=%r error=%s", subject, exc)
            errors.append(f"webhook: {type(exc).__name__}: {exc}")
    if not settings.ALERT_EMAILS and not settings.ALERT_WEBHOOK_URL:
        # Still in the log, which is where an unconfigured deployment's staff will look.
        logger.error("alert_no_channel subject=%r body=%r", subject, body)
        errors.append("no alert channel configured (ALERT_EMAILS, ALERT_WEBHOOK_URL)")
    return errors
