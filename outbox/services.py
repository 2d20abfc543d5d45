"""The outbox: mail written with its cause, sent by the worker, never lost, once per cause.

`mail_queue` is the one way the portal sends mail to customers or staff. It
writes an OutboundMail row in the caller's transaction (rolled back with it),
keyed by the cause, and hands it to the worker after commit. The worker's task
and the sweeper both send through `mail_deliver`, which claims the row first,
so a mail is sent once however many tasks and sweeps reach it. A delivery error
of any kind leaves the row queued with a backoff; after its budget
(core.claims.MAIL_RETRIES) it is failed and staff are alerted.

The one window left is every outbox's: a sender that dies after the mail
server accepted the message and before the row says so sends it again once
its lease expires.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.claims import MAIL_RETRIES, claim, lease_deadline, lease_expired
from core.queueing import enqueue
from core.reconnect import on_a_fresh_connection
from core.sql import insert_many_unless_exist, insert_unless_exists

from .models import OutboundMail

logger = logging.getLogger("outbox")

LEASE_SECONDS = 120  # longer than a send may take (EMAIL_TIMEOUT)
# The sweeper's first turn comes this long after a mail is queued: its task has had its chance.
SWEEP_AFTER_SECONDS = 60
SWEEP_BATCH = 50
# How long a sender keeps trying to record a send over a lost database connection.
MARK_SENT_RETRY_SECONDS = 15
ALERT_CAUSE_PREFIX = "incident:"  # alert mails: their own failure must not alert by mail again
# Called with (key, title, detail) when a mail is given up, in that transaction: alerts
# registers incident_open from its AppConfig.ready() (alerts is above the outbox).
mail_failed_handlers = []


def mail_queue(
    cause_key, *, to, subject, body, send_inline_if_broker_down=False, by_sweeper=False
) -> OutboundMail | None:
    """Queue one mail for `cause_key` in the caller's transaction; send it after commit.

    Idempotent per cause: returns the new row, or None when a mail for this
    cause already exists or there is no recipient (nothing is written). No
    savepoint is needed: the insert is ON CONFLICT DO NOTHING.
    `send_inline_if_broker_down`: when the broker refuses the task, send in this
    process instead of waiting for the sweeper (staff alerts, which matter most
    exactly when the broker is down).
    `by_sweeper`: no task is published; the mail is due at once and the next
    sweep (every minute) sends it. For the payment path, which publishes at most
    once per payment: a renewal's receipt must not cost the request a publish.
    """
    recipients = [address for address in to if address]
    if not recipients:
        logger.warning("mail_not_queued cause=%s reason=no-recipient", cause_key)
        return None
    mail = OutboundMail(
        cause_key=cause_key,
        to=recipients,
        subject=subject[:300],
        body=body,
        next_attempt_at=timezone.now() + timedelta(seconds=0 if by_sweeper else SWEEP_AFTER_SECONDS),
    )
    if not insert_unless_exists(mail, "cause_key"):
        logger.info("mail_already_queued cause=%s", cause_key)
        return None
    if not by_sweeper:
        transaction.on_commit(lambda: mail_send_later(mail.pk, send_inline=send_inline_if_broker_down))
    return mail


def mails_queue_for_sweep(mails) -> int:
    """Queue many mails, each once per cause, in one INSERT ... ON CONFLICT DO NOTHING
    in the caller's transaction; no task is published: they are due at once and the
    next sweep (every minute) sends them. For batch work (run_billing's slices).
    `mails`: (cause_key, to, subject, body) tuples. Returns how many were written."""
    now = timezone.now()
    rows = [
        OutboundMail(cause_key=cause, to=[a for a in to if a], subject=subject[:300], body=body, next_attempt_at=now)
        for cause, to, subject, body in mails
        if any(to)
    ]
    return len(insert_many_unless_exist(rows, ("cause_key",)))


def mail_send_later(mail_id, *, send_inline=False):
    from .tasks import send_outbound_mail  # tasks import this module

    if not enqueue(send_outbound_mail, mail_id) and send_inline:
        mail_deliver(mail_id, first_attempt=True)


def mail_claim(mail_id, *, first_attempt, now) -> OutboundMail | None:
    """Take a mail for sending (compare-and-set, with a lease). The first attempt
    (its task) takes a mail never tried; the sweeper one that is due, or whose
    sender's lease expired. None: sent, failed, not due, or someone else has it."""
    if first_attempt:
        claimable = Q(status=OutboundMail.Status.QUEUED, attempts=0)
    else:
        claimable = Q(status=OutboundMail.Status.QUEUED, next_attempt_at__lte=now) | (
            Q(status=OutboundMail.Status.SENDING) & lease_expired(now)
        )
    # The lease runs from the claim, not from the sweep's start: a long sweep over a
    # slow mail server reaches its last mails minutes after `now`, and a lease already
    # expired would let the next sweep send the same mail again.
    claimed = claim(
        OutboundMail.objects.filter(pk=mail_id),
        claimable,
        lease_until=lease_deadline(LEASE_SECONDS, now),
        status=OutboundMail.Status.SENDING,
    )
    return OutboundMail.objects.get(pk=mail_id) if claimed else None


def mail_deliver(mail_id, *, first_attempt=False, now=None) -> str:
    """Send one mail unless it is sent, not due, or another sender holds it.

    Returns "sent", "retry" (the row is queued again with a backoff), "failed"
    (out of attempts; staff are alerted) or "skipped". Never raises for a
    delivery error: it is recorded on the row.
    """
    now = now or timezone.now()
    mail = mail_claim(mail_id, first_attempt=first_attempt, now=now)
    if mail is None:
        return "skipped"
    try:
        EmailMessage(subject=mail.subject, body=mail.body, to=mail.to).send()
    except Exception as exc:  # noqa: BLE001 - any delivery error is recorded on the row and retried, never lost
        return mail_attempt_failed(mail, exc, now)
    mail_sent_mark(mail)
    logger.info("mail_sent id=%s cause=%s attempt=%s", mail.pk, mail.cause_key, mail.attempts)
    return "sent"


def mail_sent_mark(mail):
    """Record that the mail server took the message. A database connection lost since
    the claim (PgBouncer or PostgreSQL restarting) would otherwise leave the row
    `sending`, and the sweeper would send it again once the lease expires: the update
    is tried again on a fresh connection for up to MARK_SENT_RETRY_SECONDS. Past that
    (the database still down) the window every outbox has remains."""

    def mark():
        OutboundMail.objects.filter(pk=mail.pk, attempts=mail.attempts).update(
            status=OutboundMail.Status.SENT, sent_at=timezone.now(), lease_until=None, last_error=""
        )

    on_a_fresh_connection(mark, seconds=MARK_SENT_RETRY_SECONDS, what=f"mail_sent id={mail.pk}")


def mail_attempt_failed(mail, exc, now) -> str:
    error = f"attempt {mail.attempts} at {now:%Y-%m-%d %H:%M:%S %Z}: {type(exc).__name__}: {exc}"
    logger.error("mail_send_failed id=%s cause=%s %s", mail.pk, mail.cause_key, error)
    if not MAIL_RETRIES.spent(mail.attempts):
        OutboundMail.objects.filter(pk=mail.pk, attempts=mail.attempts).update(
            status=OutboundMail.Status.QUEUED,
            next_attempt_at=now + timedelta(seconds=MAIL_RETRIES.delay_seconds(mail.attempts)),
            lease_until=None,
            last_error=error,
        )
        return "retry"
    with transaction.atomic():
        OutboundMail.objects.filter(pk=mail.pk, attempts=mail.attempts).update(
            status=OutboundMail.Status.FAILED, lease_until=None, last_error=error
        )
        if not mail.cause_key.startswith(ALERT_CAUSE_PREFIX):
            for handler in mail_failed_handlers:  # alerts opens an incident (it mails through this outbox)
                handler(
                    f"mail-failed:{mail.pk}",
                    f"Mail to {', '.join(mail.to)} could not be sent",
                    f"Cause: {mail.cause_key}\nSubject: {mail.subject}\nGave up after {mail.attempts} attempts.\n{error}",
                )
    return "failed"


def mail_retry(mail_ids) -> int:
    """Staff: queue failed mails again with a fresh set of attempts. Returns how many."""
    return OutboundMail.objects.filter(pk__in=mail_ids, status=OutboundMail.Status.FAILED).update(
        status=OutboundMail.Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )


def due_mail_ids(now, limit=SWEEP_BATCH) -> list[int]:
    due = Q(status=OutboundMail.Status.QUEUED, next_attempt_at__lte=now) | (
        Q(status=OutboundMail.Status.SENDING) & lease_expired(now)
    )
    # Never-tried mail first (a renewal's receipt, a mail whose task never ran), then
    # retries by due time: a backlog of retries after a mail-server outage must not hold
    # back a receipt due now for a sweep per batch.
    ordered = OutboundMail.objects.filter(due).order_by("attempts", "next_attempt_at")
    return list(ordered.values_list("pk", flat=True)[:limit])


def outbox_sweep(*, now=None, seconds=None) -> dict:
    """Every minute (beat): send mails whose task never ran, whose sender died
    (lease expired) or whose retry is due, batch after batch until none is due
    or `seconds` (OUTBOX_SWEEP_SECONDS, below the beat's interval) have passed:
    after a mail server's outage the backlog drains as fast as the server takes
    it, not one batch a minute. Safe beside other sweeps and tasks: each mail is
    claimed before it is sent."""
    now = now or timezone.now()
    deadline = time.monotonic() + (settings.OUTBOX_SWEEP_SECONDS if seconds is None else seconds)
    outcomes = {}
    while time.monotonic() < deadline:
        batch = due_mail_ids(now)
        progress = False
        for mail_id in batch:
            if time.monotonic() >= deadline:
                break
            outcome = mail_deliver(mail_id, now=now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            progress = progress or outcome != "skipped"
        if len(batch) < SWEEP_BATCH or not progress:
            break  # nothing more is due (a batch of only others' mails: they are theirs)
    if outcomes:
        logger.info("outbox_sweep %s", " ".join(f"{key}={value}" for key, value in sorted(outcomes.items())))
    return outcomes
