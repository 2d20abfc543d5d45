"""Staff actions on orders that need a human: refund through Razorpay, mark handled."""

import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

from billing.gateways import get_gateway
from billing.models import Order, Payment
from billing.services import order_event, refund_apply

logger = logging.getLogger("ops.services")


class ActionRefused(ValueError):
    """The action cannot be done as asked; the message is for staff."""


def payment_refundable_paise(payment) -> int:
    return payment.amount_paise - sum(refund.amount_paise for refund in payment.refunds.all())


def payment_refund_by_staff(*, payment_id, actor, reason):
    """Refund what is left of a captured payment through Razorpay, then record
    it with refund_apply (which marks a fully refunded paid order refunded).

    The payment row stays locked (NOWAIT) across the gateway call, so a double
    click or a second staff member gets "already in progress" instead of a
    second refund; the call has the gateway's timeout. If we crash after
    Razorpay refunded, its `refund.processed` webhook records the refund.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("A reason is required for a refund.")
    with transaction.atomic():
        try:
            payment = Payment.objects.select_for_update(nowait=True).filter(razorpay_payment_id=payment_id).first()
        except DatabaseError as exc:
            raise ActionRefused(f"A refund of payment {payment_id} is already in progress.") from exc
        if payment is None:
            raise ActionRefused(f"No payment {payment_id}.")
        if payment.status != Payment.Status.CAPTURED:
            raise ActionRefused(f"Payment {payment_id} is {payment.status}; only a captured payment can be refunded.")
        amount = payment_refundable_paise(payment)
        if amount <= 0:
            raise ActionRefused(f"Payment {payment_id} is already fully refunded.")
        gateway_refund = get_gateway().payment_refund(
            payment_id, amount, notes={"order_number": payment.order.number, "reason": reason[:250]}
        )
        logger.info("staff_refund payment=%s refund=%s amount=%s by=%s", payment_id, gateway_refund.id, amount, actor)
        return refund_apply(
            refund_id=gateway_refund.id,
            payment_id=payment_id,
            amount_paise=gateway_refund.amount_paise,
            status=gateway_refund.status,
            source="admin",
            actor=actor,
            reason=reason,
        )


def order_mark_handled(*, number, actor, reason) -> Order:
    """Record that staff dealt with a flagged order (who, when, why). Idempotent:
    an order already handled keeps its first record."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("A reason is required to mark an order handled.")
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(number=number).first()
        if order is None:
            raise ActionRefused(f"No order {number}.")
        if order.handled_at is not None:
            return order
        order.handled_at = timezone.now()
        order.handled_by = actor
        order.handled_reason = reason
        order.save(update_fields=["handled_at", "handled_by", "handled_reason", "updated_at"])
        order_event(order, "handled", source="admin", actor=actor, message=reason)
    return order
