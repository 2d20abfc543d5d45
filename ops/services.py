"""Staff actions on orders that need a human: mark handled (refunds are payments.refunds)."""

from django.db import transaction
from django.utils import timezone

from billing.models import Order
from billing.services import order_event


class ActionRefused(ValueError):
    """The action cannot be done as asked; the message is for staff."""


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
