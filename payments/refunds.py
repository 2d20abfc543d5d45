"""Refunds: asked for by staff (admin action, `refund_order`, the dashboard),
reported by Razorpay (its answer, `refund.processed`, `refund.failed`).

Lock order wherever money moves: the order row, then the payment row (then the
server, in the lifecycle's operations). The funnel (`payment_apply`) locks the
order first too, so a refund and a payment event for one order queue instead
of deadlocking.

Razorpay's answer is recorded as it is: a `pending` refund is money promised,
not returned. It counts against what is left to refund (no second refund of the
same money) but not as refunded: only `processed` issues a credit note and, for
the payment that paid the order refunded in full, refunds the order.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from alerts.services import incident_open
from billing.credit_notes import credit_note_issue
from billing.models import Order, Payment, Refund
from billing.services import order_event, order_transition
from core.templatetags.money import rupees
from servers.operations import OperationRefused, server_terminate

from . import hooks
from .gateways import get_gateway

logger = logging.getLogger("payments.refunds")


class RefundRefused(ValueError):
    """The refund cannot be made as asked; the message is for staff (money in rupees)."""


def refund_status_from(value) -> str:
    """Razorpay's refund status; anything we do not know stays pending (not counted)."""
    return value if value in (Refund.Status.PROCESSED, Refund.Status.FAILED) else Refund.Status.PENDING


def payment_refundable_paise(payment) -> int:
    """What is left to refund of a payment: its amount less every refund not failed."""
    asked = payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount_paise"))["total"]
    return payment.amount_paise - (asked or 0)


def refunded_paise(payment) -> int:
    """Money Razorpay has returned on a payment: processed refunds only."""
    done = payment.refunds.filter(status=Refund.Status.PROCESSED).aggregate(total=Sum("amount_paise"))["total"]
    return done or 0


def order_and_payment_locked(razorpay_payment_id):
    """(order, payment) for a payment id, locked in the documented order: the
    order row, then the payment row. (None, None) for a payment we do not know.
    Caller is inside a transaction."""
    found = Payment.objects.filter(razorpay_payment_id=razorpay_payment_id).values_list("pk", "order_id").first()
    if found is None:
        return None, None
    payment_pk, order_pk = found  # a payment never changes order, so this unlocked read is safe
    order = Order.objects.select_for_update().select_related("user").get(pk=order_pk)
    payment = Payment.objects.select_for_update().get(pk=payment_pk)
    return order, payment


def refund_record(order, payment, *, refund_id, amount_paise, status, source, actor=None, reason="") -> Refund:
    """Record Razorpay's word on a refund, idempotent on its id, never moving a
    settled refund back. Caller holds the order lock, then the payment lock."""
    status = refund_status_from(status)
    refund = Refund.objects.filter(razorpay_refund_id=refund_id).first()
    if refund is None:
        refund = Refund.objects.create(
            payment=payment,
            razorpay_refund_id=refund_id,
            amount_paise=amount_paise,
            status=Refund.Status.PENDING,
            reason=reason,
            created_by=actor,
        )
        order_event(
            order,
            "refund",
            source=source,
            actor=actor,
            message=reason,
            data={"refund_id": refund_id, "payment_id": payment.razorpay_payment_id, "amount_paise": amount_paise},
        )
    if status not in Refund.TRANSITIONS[Refund.Status(refund.status)]:
        return refund
    refund.status = status
    refund.settled_at = timezone.now()
    refund.save(update_fields=["status", "settled_at"])
    order_event(order, f"refund_{status}", source=source, actor=actor, data={"refund_id": refund_id})
    if status == Refund.Status.PROCESSED:
        refund_processed(order, payment, refund, source=source, actor=actor)
    else:
        refund_failed_alert(order, refund)
    return refund


def refund_processed(order, payment, refund, *, source, actor=None):
    """Money returned: the payment refunded once wholly given back, and the order
    refunded when that payment is the one that paid it."""
    returned = refunded_paise(payment)
    if returned >= payment.amount_paise and payment.status != Payment.Status.REFUNDED:
        payment.status = Payment.Status.REFUNDED
        payment.save(update_fields=["status", "updated_at"])
    # Only the payment the order was paid with refunds the order (and is on its
    # invoice): a duplicate payment refunded in full leaves the order, its server
    # and its invoice as they are.
    pays_for_the_order = payment.razorpay_payment_id == order.payment_metadata.get("captured_payment_id")
    if pays_for_the_order:
        credit_note_issue(order, refund)
    if order.status == Order.Status.PAID and pays_for_the_order and returned >= order.total_paise:
        order_transition(
            order, Order.Status.REFUNDED, source=source, actor=actor, message=f"Refund {refund.razorpay_refund_id}"
        )
        order.save(update_fields=["status", "updated_at"])
        # Exactly once per order, with its transition to refunded (payments.hooks).
        hooks.refund_withdraw_handlers[order.kind](order, source=source, actor=actor)
    if pays_for_the_order:
        # affiliates: before approval the referrer's commission follows the money, reversed or reduced.
        for handler in hooks.refund_processed_handlers:
            handler(order, refunded_paise=returned, refund_id=refund.razorpay_refund_id, source=source, actor=actor)


def new_order_withdraw(order, *, source, actor=None):
    """What a full refund of a `new` order takes back: its server is terminated
    (the backend operation); a renewal's months are lifecycle's (payments.hooks).
    Caller holds the order lock (then the payment's); the server's is taken
    here, last, as the documented lock order says."""
    server = getattr(order, "server", None)
    if server is None:
        return
    note = f"Order {order.number} refunded in full"
    try:
        server_terminate(server.pk, source="refund", actor=actor, note=note)
    except OperationRefused as exc:  # provisioning right now: staff terminate it once that ends
        order_event(order, "termination_refused", source=source, actor=actor, message=str(exc))
        logger.warning("refund_termination_refused order=%s server=%s error=%s", order.number, server.pk, exc)


def refund_failed_alert(order, refund):
    detail = (
        f"Razorpay failed refund {refund.razorpay_refund_id} of {rupees(refund.amount_paise)} on payment "
        f"{refund.payment.razorpay_payment_id} (order {order.number}, {order.user.email}). "
        "The money is still with us: refund again or contact the customer."
    )
    transaction.on_commit(
        lambda: incident_open(
            f"refund-failed:{refund.razorpay_refund_id}",
            f"Refund failed on order {order.number}",
            detail,
            link=f"{settings.SITE_URL}/admin/billing/order/{order.pk}/change/",
        )
    )


def refund_apply(*, refund_id, payment_id, amount_paise, status, source, actor=None, reason="") -> Refund | None:
    """Razorpay's report of a refund (webhook). None when the payment is not
    recorded yet: the caller keeps the event for when it is."""
    with transaction.atomic():
        order, payment = order_and_payment_locked(payment_id)
        if order is None:
            return None
        return refund_record(
            order,
            payment,
            refund_id=refund_id,
            amount_paise=amount_paise,
            status=status,
            source=source,
            actor=actor,
            reason=reason,
        )


def refund_payment(*, payment_id, reason, actor=None, amount_paise=None, source="admin") -> Refund:
    """Refund `amount_paise` (default: all that is left) of a captured payment
    through Razorpay and record its answer. Holds the order lock, then the
    payment lock, across the Razorpay call (bounded by the gateway timeout), so
    a double click or a second staff member waits and then finds less left,
    never a second refund of the same money. A gateway error records nothing
    and propagates; if we fail after Razorpay refunded, its webhook records it.
    Staff reach it through security.staff_actions (payments.staff_actions), which
    writes the staff-audit row in this transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("A reason is required for a refund.")
    with transaction.atomic():
        order, payment = order_and_payment_locked(payment_id)
        if order is None:
            raise RefundRefused(f"No payment {payment_id}.")
        if payment.status not in (Payment.Status.CAPTURED, Payment.Status.REFUNDED):
            raise RefundRefused(f"Payment {payment_id} is {payment.status}; only a captured payment can be refunded.")
        left = payment_refundable_paise(payment)
        if left <= 0:
            raise RefundRefused(f"Payment {payment_id} is already fully refunded.")
        amount = left if amount_paise is None else amount_paise
        if not 0 < amount <= left:
            raise RefundRefused(f"Payment {payment_id} has {rupees(left)} left to refund; {rupees(amount)} asked.")
        gateway_refund = get_gateway().payment_refund(
            payment_id, amount, notes={"order_number": order.number, "reason": reason[:250]}
        )
        logger.info("refund_made payment=%s refund=%s amount=%s by=%s", payment_id, gateway_refund.id, amount, actor)
        refund = refund_record(
            order,
            payment,
            refund_id=gateway_refund.id,
            amount_paise=gateway_refund.amount_paise,
            status=gateway_refund.status,
            source=source,
            actor=actor,
            reason=reason,
        )
        return refund


@dataclass
class OrderRefundPlan:
    order: Order
    payment_id: str
    amount_paise: int


def order_refund_plan(number, amount_paise=None) -> OrderRefundPlan:
    """What refunding order `number` would do (the payment that paid it, the
    amount), or RefundRefused. Writes nothing: the dry run of `refund_order`."""
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise RefundRefused(f"No order {number}.")
    payment_id = order.payment_metadata.get("captured_payment_id")
    if order.status not in (Order.Status.PAID, Order.Status.REFUNDED) or not payment_id:
        raise RefundRefused(f"Order {number} is {order.status}; only a paid order can be refunded.")
    payment = Payment.objects.get(razorpay_payment_id=payment_id)
    left = payment_refundable_paise(payment)
    amount = left if amount_paise is None else amount_paise
    if left <= 0:
        raise RefundRefused(f"Order {number} has nothing left to refund.")
    if not 0 < amount <= left:
        raise RefundRefused(f"Order {number} has {rupees(left)} left to refund; {rupees(amount)} asked.")
    return OrderRefundPlan(order, payment_id, amount)


def order_refund(number, *, reason, actor=None, amount_paise=None, source="admin") -> Refund:
    """Refund a paid order (default: what is left of the payment that paid it).
    The one service behind the admin action and `refund_order`."""
    plan = order_refund_plan(number, amount_paise)
    return refund_payment(
        payment_id=plan.payment_id,
        reason=reason,
        actor=actor,
        amount_paise=plan.amount_paise,
        source=source,
    )


def refund_credit_note_number(refund) -> str | None:
    """The credit note a processed refund issued, if any."""
    note = getattr(refund, "credit_note", None)
    return note.number if note else None
