"""Reminders: recorded once each (a unique row per server, kind and due date), mailed after commit."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from billing.templatetags.money import rupees
from hostingportal.queueing import enqueue
from hostingportal.sql import insert_many_unless_exist

from .models import Reminder

logger = logging.getLogger("lifecycle.reminders")


def reminders_record(servers, kind, *, orders_by_server=None) -> list[int]:
    """Record reminder `kind` for each server's current due date, skipping those
    already recorded (one INSERT ... ON CONFLICT DO NOTHING), and queue the mail of
    the new ones after commit (one publish). Returns the new reminders' ids."""
    orders_by_server = orders_by_server or {}
    rows = [
        Reminder(server_id=server.pk, kind=kind, paid_until=server.paid_until, order_id=orders_by_server.get(server.pk))
        for server in servers
    ]
    ids = insert_many_unless_exist(rows, ("server", "kind", "paid_until"))
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
        f"Renewal {order.number}: {rupees(order.total_paise)} for {order.billing_cycle_months} month(s).\n"
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
    """Mail one reminder unless already mailed; True when mailed now."""
    reminder = Reminder.objects.select_related("server__user", "order").get(pk=reminder_id)
    if reminder.sent_at:
        return False
    subject, body = reminder_text(reminder)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[reminder.server.user.email])
    Reminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
    logger.info("reminder_sent reminder=%s server=%s kind=%s", reminder.pk, reminder.server_id, reminder.kind)
    return True
