"""Support's mail, queued through the outbox in the transaction that writes the message."""

import logging

from django.conf import settings
from django.urls import reverse

from outbox.services import mail_queue

logger = logging.getLogger("support")


def message_mail_queue(message, *, attachments=0):
    """Tell the other side about a new message: a staff reply goes to the ticket's
    owner, a customer's message to the assignee (or ALERT_EMAILS while nobody is
    assigned). Internal notes never leave the staff side. Once per message."""
    if message.is_internal:
        return None
    if message.is_staff_reply:
        return customer_reply_mail_queue(message, attachments)
    return staff_message_mail_queue(message)


def customer_reply_mail_queue(message, attachments):
    ticket = message.ticket
    url = settings.SITE_URL + reverse("support:detail", args=[ticket.pk])
    return mail_queue(
        f"ticket-message:{message.pk}",
        to=[ticket.user.email],
        subject=f"[Ticket #{ticket.pk}] {ticket.subject}",
        body=(
            f"Our support team replied to your ticket #{ticket.pk}:\n\n{message.body}\n\n"
            + (f"({attachments} attachment(s) on the ticket page.)\n\n" if attachments else "")
            + f"Read and reply: {url}\n"
        ),
    )


def staff_message_mail_queue(message):
    ticket = message.ticket
    recipients = [ticket.assignee.email] if ticket.assignee else list(settings.ALERT_EMAILS)
    if not recipients:
        logger.warning(
            "support_message_unnotified ticket=%s message=%s: no assignee, ALERT_EMAILS empty", ticket.pk, message.pk
        )
        return None
    url = settings.SITE_URL + reverse("admin:support_ticket_change", args=[ticket.pk])
    return mail_queue(
        f"ticket-message:{message.pk}",
        to=recipients,
        subject=f"[Ticket #{ticket.pk}] {ticket.subject} ({ticket.user.email})",
        body=f"{ticket.user.email} wrote on ticket #{ticket.pk}:\n\n{message.body}\n\nAnswer in the admin: {url}\n",
    )
