"""Servers' customer mail, queued through the outbox (outbox.services.mail_queue)."""

from django.conf import settings

from outbox.services import mail_queue


def server_active_mail_queue(server):
    """The "your server is active" mail, once per server: call it in the transaction that activates it."""
    return mail_queue(
        f"server-active:{server.pk}",
        to=[server.user.email],
        subject=f"Your server {server.hostname} is active",
        body=(
            "Your server is ready.\n\n"
            f"Hostname: {server.hostname}\n"
            f"IP address: {server.ip_address or 'being assigned'}\n\n"
            f"Details: {settings.SITE_URL}/servers/{server.pk}/\n"
        ),
    )


def server_operation_mail_queue(operation, server):
    """The customer's mail once a staff suspension, an unsuspension or a termination
    not decided by run_billing (which sends its own reminders) has been carried out;
    once per operation. Call it in the transaction that records the outcome."""
    page = f"{settings.SITE_URL}/servers/{server.pk}/"
    if operation.purpose == "suspend" and server.suspension_reason == "staff":
        subject, body = (
            f"Your server {server} is suspended",
            (
                f"Our staff suspended your server {server}; it is stopped.\n"
                f"Please open a support ticket to find out why and how to restore it: {settings.SITE_URL}/support/new/\n"
            ),
        )
    elif operation.purpose == "unsuspend":
        subject, body = (
            f"Your server {server} is running again",
            f"The suspension is lifted and the server is started.\n{page}\n",
        )
    elif operation.purpose == "terminate" and operation.source != "run_billing":
        subject, body = (
            f"Your server {server} is terminated",
            (f"Your server {server} has been deleted with its data. Its history stays at {page}\n"),
        )
    else:
        return None
    return mail_queue(f"server-operation:{operation.pk}", to=[server.user.email], subject=subject, body=body)


def renewal_paid_mail_queue(order, server):
    """ "Payment received" for a renewal, with the new due date; once per order."""
    from django.utils import timezone

    from billing.templatetags.money import rupees

    return mail_queue(
        f"payment-received:{order.pk}",
        to=[server.user.email],
        subject=f"Payment received for renewal {order.number}",
        body=(
            f"Thank you. We received {rupees(order.total_paise)} for {order.billing_cycle_months} more month(s) "
            f"of {server}.\nIt is now paid until {timezone.localtime(server.paid_until):%d %b %Y}.\n\n"
            f"Tax invoice: {settings.SITE_URL}/orders/{order.number}/invoice/\n"
        ),
    )
