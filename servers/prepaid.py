"""Prepaid renewal money of a server that ends early (issue 23).

A server terminated before the end of what its customer paid for (a full refund
of its `new` order, staff, ...) leaves its paid renewals' months not begun with
us: those orders are flagged for staff to refund that part (the unused whole
months, all of it when none began), as the funnel flags a renewal paid after
termination. audit_ledger reports such money until it is given back.
"""

from django.db.models import Sum

from billing import pricing
from billing.models import Order, Refund
from billing.services import order_flag
from core.templatetags.money import months, rupees


def renewals_unused_flag(servers, *, at, source):
    """Flag the paid renewals of `servers` (locked, being terminated at `at`) that
    hold months not begun. Called by terminations_decide in its transaction, with
    the servers' locks held: the orders are taken with SKIP LOCKED (lock order is
    order, then server), so one being refunded right now is left to that refund
    (and to the audit). One SELECT when nothing is prepaid."""
    renewals = (
        Order.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            renews_server_id__in=[server.pk for server in servers],
            kind=Order.Kind.RENEWAL,
            status=Order.Status.PAID,
            extension__new_paid_until__gt=at,
        )
        .select_related("extension", "user")
        .order_by("pk")
    )
    for order in renewals:
        extension = order.extension
        unused = pricing.renewal_unused(
            order.total_paise, period_start=extension.old_paid_until, months=extension.months, at=at
        )
        payment_id = order.payment_metadata.get("captured_payment_id", "")
        asked = (
            Refund.objects.filter(payment__razorpay_payment_id=payment_id)
            .exclude(status=Refund.Status.FAILED)
            .aggregate(total=Sum("amount_paise"))["total"]
            or 0
        )
        due = min(unused.paise, order.total_paise - asked)
        if due <= 0:
            continue
        order_flag(
            order,
            payment_id,
            f"Server #{extension.server_id} terminated: renewal paid by {payment_id} has {unused.months} unused "
            f"of its {months(extension.months)}; refund {rupees(due)}",
            source=source,
            consequence="The customer can no longer use what they paid for.",
            alert_key=f"prepaid-renewal:{order.number}",
            alert_title=f"Refund due on renewal {order.number} of a terminated server",
        )
