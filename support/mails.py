"""Support's mail, queued through the outbox in the transaction that writes the message."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from outbox.services import mail_queue

logger = logging.getLogger("support")


def message_mail_queue(message, *, attachments=0):
    """Tell the other side about a new message: a staff reply goes to the ticket's
    owner, a customer's message to the assignee (or the support queue while nobody
    is assigned). Internal notes never leave the staff side. Once per message."""
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


def support_queue_emails():
    """Who answers unassigned tickets: SUPPORT_EMAILS, else the active staff of the
    SUPPORT_GROUP group, else ALERT_EMAILS."""
    if settings.SUPPORT_EMAILS:
        return list(settings.SUPPORT_EMAILS)
    group = get_user_model().objects.filter(groups__name=settings.SUPPORT_GROUP, is_staff=True, is_active=True)
    return sorted(group.values_list("email", flat=True)) or list(settings.ALERT_EMAILS)


def staff_message_mail_queue(message):
    """A customer's message goes to the ticket's assignee, or to the support queue
    while nobody is assigned. A new ticket's first message is the queue's "new
    ticket" mail, keyed by the ticket: once per ticket, whatever retries happen."""
    ticket = message.ticket
    recipients = [ticket.assignee.email] if ticket.assignee else support_queue_emails()
    if not recipients:
        logger.warning(
            "support_message_unnotified ticket=%s message=%s: no assignee and an empty support queue "
            "(SUPPORT_EMAILS, the %s group and ALERT_EMAILS)",
            ticket.pk,
            message.pk,
            settings.SUPPORT_GROUP,
        )
        return None
    url = settings.SITE_URL + reverse("admin:support_ticket_change", args=[ticket.pk])
    first = not ticket.messages.exclude(pk=message.pk).exists()
    if first:
        return mail_queue(
            f"ticket-new:{ticket.pk}",
            to=recipients,
            subject=f"[New ticket #{ticket.pk}] {ticket.subject} ({ticket.user.email})",
            body=(
                f"{ticket.user.email} opened ticket #{ticket.pk}"
                + (f" about server {ticket.server.name}" if ticket.server else "")
                + f":\n\n{message.body}\n\nNobody is assigned yet. Answer or assign it in the admin: {url}\n"
            ),
        )
    return mail_queue(
        f"ticket-message:{message.pk}",
        to=recipients,
        subject=f"[Ticket #{ticket.pk}] {ticket.subject} ({ticket.user.email})",
        body=f"{ticket.user.email} wrote on ticket #{ticket.pk}:\n\n{message.body}\n\nAnswer in the admin: {url}\n",
    )
