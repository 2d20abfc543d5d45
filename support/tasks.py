import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from .models import TicketMessage

logger = logging.getLogger("support")


def message_load(message_id):
    return TicketMessage.objects.select_related("ticket__user", "ticket__assignee").get(pk=message_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_customer_of_reply(message_id):
    """Email the ticket's owner a staff reply. Internal notes are never sent, whoever queues them."""
    message = message_load(message_id)
    if message.is_internal or not message.is_staff_reply:
        logger.error("notify_customer_refused message=%s internal=%s", message.pk, message.is_internal)
        return
    ticket = message.ticket
    url = settings.SITE_URL + reverse("support:detail", args=[ticket.pk])
    attachments = message.attachments.count()
    send_mail(
        subject=f"[Ticket #{ticket.pk}] {ticket.subject}",
        message=(
            f"Our support team replied to your ticket #{ticket.pk}:\n\n{message.body}\n\n"
            + (f"({attachments} attachment(s) on the ticket page.)\n\n" if attachments else "")
            + f"Read and reply: {url}\n"
        ),
        from_email=None,
        recipient_list=[ticket.user.email],
    )


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_staff_of_customer_message(message_id):
    """Email the assignee, or ALERT_EMAILS while nobody is assigned, about a customer's message."""
    message = message_load(message_id)
    ticket = message.ticket
    recipients = [ticket.assignee.email] if ticket.assignee else list(settings.ALERT_EMAILS)
    if not recipients:
        logger.warning(
            "support_message_unnotified ticket=%s message=%s: no assignee, ALERT_EMAILS empty", ticket.pk, message.pk
        )
        return
    url = settings.SITE_URL + reverse("admin:support_ticket_change", args=[ticket.pk])
    send_mail(
        subject=f"[Ticket #{ticket.pk}] {ticket.subject} ({ticket.user.email})",
        message=f"{ticket.user.email} wrote on ticket #{ticket.pk}:\n\n{message.body}\n\nAnswer in the admin: {url}\n",
        from_email=None,
        recipient_list=recipients,
    )
