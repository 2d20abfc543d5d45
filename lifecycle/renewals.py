"""Renewals, in one place: a server's next period is a renewal order (billing.Order,
kind `renewal`, `renews_server`) that is built, issued, paid (the server is
extended and the customer gets a receipt), refunded (the months are taken back)
or cancelled.

- `renewal_order_build`: the one builder, for the customer's renew and for the
  billing day's slice alike; `renewals_issued_history`: the one history writer
  for both (an order event and a server timeline row per renewal, one INSERT each).
- `renewal_issue`: the customer's (and the API's) renew, under the server's lock;
  `cancellation_set`: cancel at period end (its unpaid renewal is cancelled) or not.
  Each decision is taken under the server's row lock and re-checked there; a
  renewal order being paid right now is never replaced nor cancelled (its row lock
  is taken with SKIP LOCKED, so nothing here waits for a payment while holding
  the server).
- `renewal_paid` / `renewal_extend`: the funnel's handler for a paid renewal
  (registered in payments.hooks by this app's ready()).
- `renewal_take_back`: a fully refunded renewal's months come off (payments.hooks).
- `renewal_receipt_queue`: the "payment received" mail of a renewal.
- The one "unpaid renewal" selector is servers.selectors.unpaid_renewals, and the
  cancelling of unpaid renewals is servers.operations.renewal_orders_cancel: a
  termination, decided in servers under the server's lock, cancels them in the
  same transaction, and servers is below lifecycle (docs/decisions.md).

The extension is a RenewalExtension row whose OneToOne on the order is the
database's guarantee that one renewal order extends one server once: the row
is inserted with ON CONFLICT DO NOTHING, and only the insert that wrote it
moves paid_until, from the old due date (never from the day of payment).
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from billing.models import Order
from billing.recurring import recurring_metadata
from billing.services import order_build, order_events, order_flag
from core.sql import insert_unless_exists, select_row, update_row
from core.templatetags.money import months, rupees
from outbox.services import mail_queue
from servers.models import RenewalExtension, Server
from servers.operations import (
    renewal_orders_cancel,
    server_event,
    server_events,
    server_locked,
    server_unsuspend,
    termination_decided,
)
from servers.periods import period_end
from servers.selectors import unpaid_renewals

from .autopay.selectors import debit_pending

logger = logging.getLogger("lifecycle.renewals")


class RenewalRefused(ValueError):
    """No renewal for this server now (terminated, cancelled at period end, being paid)."""


def renewal_order_build(server, billing_cycle_months) -> Order:
    """An unsaved renewal order for `server`: its plan at the plan's current price
    (an inactive plan still renews), the buyer's details as they stand now. No
    Razorpay order yet: that is made when the customer pays (order_gateway_ensure
    at checkout), not for every renewal issued."""
    first = server.order
    return order_build(
        user=server.user,
        plan=server.renewal_plan,  # the plan it runs, or a scheduled downgrade's
        billing_cycle_months=billing_cycle_months,
        kind=Order.Kind.RENEWAL,
        renews_server=server,
        # The buyer's referrer, as on their first order (the first referral stands): no lookup.
        referrer_id=first.referrer_id,
    )


def renewals_issued_history(orders, servers, *, source, actor=None):
    """The history of renewals just issued, the same for one (renewal_issue) and
    for a billing day's slice: the order's "created" event and the server's
    "renewal_issued" timeline row, one INSERT each whatever the count."""
    order_events(
        orders,
        "created",
        source=source,
        actor=actor,
        to_status=Order.Status.CREATED,
        data=[{"server": server.pk} for server in servers],
    )
    server_events(
        servers,
        "renewal_issued",
        source=source,
        actor=actor,
        notes=[f"Order {order.number}, {months(order.billing_cycle_months)}" for order in orders],
    )


def renewal_issue(server_id, *, billing_cycle_months=None, source, actor=None, recurring_customer=None) -> Order:
    """The server's unpaid renewal order, created if there is none, or replaced when
    it is for another cycle, or autopay is asked on one and not the other
    (CONTRACT: POST /servers/<id>/renew/). With `recurring_customer`, paying it
    registers autopay. Idempotent for the same request. Raises RenewalRefused for a
    terminated server, one being terminated or cancelled at period end, or when the
    unpaid renewal is being paid at this moment (by hand, or by an autopay debit)."""
    with transaction.atomic():
        server = server_locked(server_id)
        if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
            raise RenewalRefused("This server is terminated; it cannot be renewed.")
        if server.cancel_at_period_end:
            raise RenewalRefused("This server is cancelled at the end of its period; resume it to renew.")
        months = billing_cycle_months or server.billing_cycle_months
        existing = unpaid_renewals(server.pk).first()
        recurring = recurring_metadata(recurring_customer) if recurring_customer is not None else None
        if existing is not None:
            if existing.billing_cycle_months == months and existing.payment_metadata.get("recurring") == recurring:
                return existing
            if debit_pending(existing):
                raise RenewalRefused(
                    "An automatic payment of this renewal is in progress; wait for its outcome before changing it."
                )
            locked = Order.objects.select_for_update(skip_locked=True).filter(pk=existing.pk).first()
            if locked is None or locked.status != Order.Status.CREATED:
                raise RenewalRefused("The renewal is being paid right now; try again in a minute.")
            renewal_orders_cancel([locked], source=source, actor=actor, reason=f"Replaced by a {months}-month renewal")
        order = renewal_order_build(server, months)
        if recurring is not None:
            order.payment_metadata = {"recurring": recurring}
        order.save()
        renewals_issued_history([order], [server], source=source, actor=actor)
    return order


def cancellation_set(server_id, *, cancel: bool, source, actor=None) -> Server:
    """Switch cancel-at-period-end on or off. On: the unpaid renewal is cancelled
    (no renewal is issued any more) and the server is terminated at paid_until by
    run_billing. Idempotent. Raises RenewalRefused for a terminated server."""
    with transaction.atomic():
        server = server_locked(server_id)
        if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
            raise RenewalRefused("This server is terminated.")
        if server.cancel_at_period_end == cancel:
            return server
        server.cancel_at_period_end = cancel
        server.save(update_fields=["cancel_at_period_end", "updated_at"])
        if cancel:
            unpaid = unpaid_renewals(server.pk).select_for_update(skip_locked=True)
            renewal_orders_cancel(list(unpaid), source=source, actor=actor, reason="Cancelled at period end")
        server_event(
            server.pk,
            "cancel_at_period_end" if cancel else "cancellation_withdrawn",
            source=source,
            actor=actor,
        )
    return server


def renewal_paid(order, gateway_payment, *, source, actor=None):
    """The funnel's handler for a renewal just marked paid (payments.hooks): it
    extends its server (renewal_extend), once.
    Paid for a server already terminated, it is money for nothing: flagged for a
    refund, and the server stays terminated (CONTRACT: Renewals)."""
    server, result = renewal_extend(order, source=source, actor=actor)
    if result == "server_terminated":
        order_flag(
            order,
            gateway_payment.id,
            f"Renewal paid by {gateway_payment.id} after server #{server.pk} was terminated; refund it",
            source=source,
        )
    return server


def renewal_extend(order, *, source, actor=None) -> tuple[Server, str]:
    """Apply the paid renewal `order` to its server, under the server's row lock
    (the caller holds the order's, and commits both together). Returns the server
    and what happened: "extended", "already_extended", or "server_terminated" (a
    renewal paid for a server terminated or being terminated: nothing is revived;
    the caller flags the payment for a refund). A server suspended `overdue` is
    brought back (a start is queued); a `staff` suspension stays."""
    server = select_row(Server, for_update=True, id=order.renews_server_id)
    # For the mail's address only (the order's user is the server's), by a kept statement.
    server.user = select_row(get_user_model(), fields=("email",), id=order.user_id)
    if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
        return server, "server_terminated"
    old = server.paid_until or order.paid_at or timezone.now()
    extension = RenewalExtension(
        order=order,
        server=server,
        months=order.billing_cycle_months,
        old_paid_until=old,
        new_paid_until=period_end(old, order.billing_cycle_months),
        source=source,
    )
    if not insert_unless_exists(extension, "order"):
        return server, "already_extended"
    server.paid_until, server.billing_cycle_months = extension.new_paid_until, order.billing_cycle_months
    update_row(server, ("paid_until", "billing_cycle_months", "updated_at"))
    server_event(
        server.pk,
        "renewed",
        source=source,
        actor=actor,
        note=f"Order {order.number}: paid until {timezone.localtime(extension.new_paid_until):%d %b %Y}",
    )
    renewal_receipt_queue(order, server)
    if server.suspension_reason == Server.SuspensionReason.OVERDUE:
        server_unsuspend(server.pk, source=source, actor=actor, note=f"Renewal {order.number} paid")
    logger.info("renewal_extended server=%s order=%s paid_until=%s", server.pk, order.number, server.paid_until)
    return server, "extended"


def renewal_take_back(order, *, source, actor=None):
    """Take a fully refunded renewal's months back off its server's paid_until
    (once: the caller runs with the order's one transition to refunded). Nothing
    for a renewal that never extended (its server was already terminated)."""
    extension = RenewalExtension.objects.filter(order=order).first()
    if extension is None:
        return
    server = Server.objects.select_for_update().get(pk=extension.server_id)
    if server.status == Server.Status.TERMINATED or server.paid_until is None:
        return
    # Exactly what the extension added: calendar months do not invert where the day
    # was clamped (31 Jan + 1 month = 28 Feb, but 28 Feb - 1 month = 28 Jan).
    server.paid_until -= extension.new_paid_until - extension.old_paid_until
    server.save(update_fields=["paid_until", "updated_at"])
    server_event(
        server.pk,
        "renewal_refunded",
        source=source,
        actor=actor,
        note=f"Order {order.number} refunded: paid until {timezone.localtime(server.paid_until):%d %b %Y}",
    )


def renewal_receipt_queue(order, server):
    """ "Payment received" for a renewal, with the new due date; once per order.
    Written in the payment's transaction and sent by the outbox's next sweep (within
    a minute): a new order's receipt rides its provisioning task, and a renewal's
    payment publishes no task of its own (docs/decisions.md, payment path)."""
    return mail_queue(
        f"payment-received:{order.pk}",
        to=[server.user.email],
        subject=f"Payment received for renewal {order.number}",
        body=(
            f"Thank you. We received {rupees(order.total_paise)} for {months(order.billing_cycle_months)} more "
            f"of {server}.\nIt is now paid until {timezone.localtime(server.paid_until):%d %b %Y}.\n\n"
            f"Tax invoice: {settings.SITE_URL}/orders/{order.number}/invoice/\n"
        ),
        by_sweeper=True,
    )
