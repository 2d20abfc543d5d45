"""A customer's side of the lifecycle: renewing early and cancelling at period end.

Each decision is taken under the server's row lock and re-checked there. The
one-unpaid-renewal rule is a database constraint (billing.Order); a renewal
order being paid right now is never replaced (its row lock is taken with
SKIP LOCKED, so nothing here waits for a payment while holding the server).
"""

from django.db import transaction

from billing.models import Order
from billing.recurring import recurring_metadata
from billing.services import order_event, renewal_order_build
from servers.models import Server
from servers.operations import renewal_orders_cancel, server_event, server_locked, termination_decided

from .autopay.selectors import debit_pending


class RenewalRefused(ValueError):
    """No renewal for this server now (terminated, cancelled at period end, being paid)."""


def renewal_unpaid(server_id):
    return Order.objects.filter(renews_server_id=server_id, status=Order.Status.CREATED).first()


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
        existing = renewal_unpaid(server.pk)
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
        order_event(order, "created", source=source, actor=actor, to_status=order.status, data={"server": server.pk})
        server_event(
            server.pk, "renewal_issued", source=source, actor=actor, note=f"Order {order.number}, {months} month(s)"
        )
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
            unpaid = Order.objects.select_for_update(skip_locked=True).filter(
                renews_server_id=server.pk, status=Order.Status.CREATED
            )
            renewal_orders_cancel(list(unpaid), source=source, actor=actor, reason="Cancelled at period end")
        server_event(
            server.pk,
            "cancel_at_period_end" if cancel else "cancellation_withdrawn",
            source=source,
            actor=actor,
        )
    return server
