"""Billing's customer mail, queued through the outbox (outbox.services.mail_queue)."""

from django.conf import settings

from core.templatetags.money import months, rupees
from outbox.services import mail_queue


def payment_received_mail_queue(order):
    """The customer's "payment received" mail for a paid order; once per order."""
    return mail_queue(
        f"payment-received:{order.pk}",
        to=[order.user.email],
        subject=f"Payment received for order {order.number}",
        body=(
            f"Thank you. We received {rupees(order.total_paise)} for {order.plan_name} "
            f"({months(order.billing_cycle_months)}), order {order.number}.\n\n"
            f"Your server is being set up; follow it at {settings.SITE_URL}/servers/\n"
            f"Tax invoice: {settings.SITE_URL}/orders/{order.number}/invoice/\n"
        ),
    )
