"""Reminders: recorded once each (a unique row per server, kind and due date; per renewal order for
"renewal issued"), mailed after commit."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.queueing import enqueue
from core.sql import insert_many_unless_exist
from core.templatetags.money import months, rupees
from outbox.services import mail_queue

from .models import Reminder

logger = logging.getLogger("lifecycle.reminders")


def reminders_record(servers, kind, *, orders_by_server=None) -> list[int]:
    """Record reminder `kind` for each server's current due date (for "renewal
    issued", for the renewal order in `orders_by_server`), skipping those already
    recorded (one INSERT ... ON CONFLICT DO NOTHING), and queue the mail of
    the new ones after commit (one publish). Returns the new reminders' ids."""
    orders_by_server = orders_by_server or {}
    rows = [
        Reminder(server_id=server.pk, kind=kind, paid_until=server.paid_until, order_id=orders_by_server.get(server.pk))
        for server in servers
    ]
    # No conflict target: each row falls under one of the two partial unique
    # indexes (per order for "renewal issued", per due date for the others).
    ids = insert_many_unless_exist(rows, None)
    if ids:
        transaction.on_commit(lambda: reminders_send_later(ids))
    return ids


def reminders_send_later(ids):
    from .tasks import send_reminders

    enqueue(send_reminders, list(ids))


def reminder_text(reminder) -> tuple[str, str]:
    server, order = reminder.server, reminder.order
    due = timezone.localtime(reminder.paid_until).strftime("%d %b %Y")
    page = f"{settings.SITE_URL}/servers/{server.pk}/"
    pay = (
        f"Renewal {order.number}: {rupees(order.total_paise)} for {months(order.billing_cycle_months)}.\n"
        if order
        else ""
    )
    if reminder.kind == Reminder.Kind.RENEWAL_ISSUED:
        return f"Renewal due for {server}", (
            f"Your server {server} is paid until {due}.\n{pay}Pay it on the server's page to keep it running: {page}\n"
        )
    if reminder.kind == Reminder.Kind.DUE_TOMORROW:
        return f"{server} is due tomorrow", (
            f"Your server {server} is paid until {due}.\n{pay}"
            f"Unpaid, it is suspended {settings.SUSPEND_AFTER_DAYS} day(s) after that. Pay here: {page}\n"
        )
    if reminder.kind == Reminder.Kind.SUSPENDED:
        return f"{server} is suspended for non-payment", (
            f"Your server {server} was due on {due} and is being stopped.\n{pay}"
            f"Paying the renewal starts it again. Unpaid, it is deleted with its data "
            f"{settings.TERMINATE_AFTER_DAYS} day(s) after the due date. Pay here: {page}\n"
        )
    return f"{server} is terminated", (
        f"Your server {server} (paid until {due}) is being deleted with its data. It can no longer be renewed.\n"
        f"Its history stays at {page}\n"
    )


def reminder_send(reminder_id) -> bool:
    """Hand one reminder's mail to the outbox (cause `reminder:<id>`, so once however
    often this runs), in the worker: run_billing's batches write no mail rows of their
    own. True when queued now."""
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(of=("self",)).select_related("server__user", "order").get(pk=reminder_id)
        )
        if reminder.sent_at:
            return False
        subject, body = reminder_text(reminder)
        mail_queue(f"reminder:{reminder.pk}", to=[reminder.server.user.email], subject=subject, body=body)
        Reminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
    logger.info("reminder_queued reminder=%s server=%s kind=%s", reminder.pk, reminder.server_id, reminder.kind)
    return True


def reminders_unsent(ctx):
    """A run_billing step: reminders whose hand-off to the worker was lost (broker
    down at commit) are handed again after 10 minutes."""
    stale = Reminder.objects.filter(sent_at__isnull=True, created_at__lt=ctx.now - timedelta(minutes=10))
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:5000])
    if ids:
        transaction.on_commit(lambda: reminders_send_later(ids))


# A reminder's task has had its chance this long after the reminder was recorded.
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 500


def reminders_sweep(now=None) -> int:
    """Every minute (beat), like the outbox's sweep: hand the mail of reminders whose
    hand-off to the worker was lost (broker down at commit, worker lost) to the
    outbox here, in the sweep, without a broker round trip. Safe beside the worker:
    reminder_send locks the reminder and hands it once. Returns how many were handed."""
    now = now or timezone.now()
    stale = Reminder.objects.filter(sent_at__isnull=True, created_at__lt=now - SWEEP_AFTER).order_by("pk")
    handed = sum(reminder_send(reminder_id) for reminder_id in stale.values_list("pk", flat=True)[:SWEEP_BATCH])
    if handed:
        logger.info("reminders_sweep handed=%d", handed)
    return handed
