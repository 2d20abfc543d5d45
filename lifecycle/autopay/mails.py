"""Autopay's customer mail, through the outbox: each once per cause."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.templatetags.money import months, rupees

# Razorpay debits about 25 hours (UPI) to 36 hours (cards) after its own notice.
DEBIT_AFTER = timedelta(hours=36)


def server_page(server_id):
    return f"{settings.SITE_URL}/servers/{server_id}/"


def pre_debit_notice(order, email, *, now=None):
    """RBI's pre-debit notice: amount, date, reference, purpose and how to opt out."""
    day = timezone.localtime((now or timezone.now()) + DEBIT_AFTER)
    page = server_page(order.renews_server_id)
    return (
        f"autopay-notice:{order.number}",
        [email],
        f"Autopay: {rupees(order.total_paise)} will be debited on {day:%d %b %Y} for order {order.number}",
        (
            f"Your autopay will pay renewal order {order.number} of server #{order.renews_server_id} "
            f"({order.plan_name}, {months(order.billing_cycle_months)}).\n\n"
            f"Amount:    {rupees(order.total_paise)} (GST included)\n"
            f"Date:      on or about {day:%d %b %Y}\n"
            f"Reference: {order.number}\n\n"
            f"Razorpay sends you its own notice too. Nothing else is needed from you.\n"
            f"To stop this debit and autopay, turn autopay off on the server's page before then: {page}\n"
            f"You can then pay the renewal by hand on the same page.\n"
        ),
    )


def debit_failed(order, email):
    page = server_page(order.renews_server_id)
    return (
        f"autopay-failed:{order.number}",
        [email],
        f"Automatic payment failed for order {order.number}: please pay here",
        (
            f"The automatic payment of {rupees(order.total_paise)} for renewal order {order.number} "
            f"did not go through, and we will not try it again for this renewal.\n"
            f"Please pay it on the server's page to keep the server running: {page}\n"
            f"Unpaid, the server is suspended {settings.SUSPEND_AFTER_DAYS} day(s) after its due date.\n"
        ),
    )


def over_limit(order, email, max_amount_paise):
    page = server_page(order.renews_server_id)
    return (
        f"autopay-over-limit:{order.number}",
        [email],
        f"Your renewal {order.number} is above your autopay limit: please pay here",
        (
            f"Renewal order {order.number} is {rupees(order.total_paise)}, above your autopay limit of "
            f"{rupees(max_amount_paise)}, so it is not debited automatically (RBI requires you to approve "
            f"larger debits yourself).\nPlease pay it on the server's page: {page}\n"
        ),
    )


def autopay_off(mandate, email, reason):
    return (
        f"autopay-off:{mandate.pk}",
        [email],
        f"Autopay is off for server #{mandate.server_id}",
        (
            f"Autopay for server #{mandate.server_id} has ended: {reason}.\n"
            f"Renewals are no longer paid automatically; pay them on the server's page: "
            f"{server_page(mandate.server_id)}\n"
            f"You can turn autopay on again when you next pay a renewal.\n"
        ),
    )
