"""What lifecycle plugs into the payment funnel (payments.hooks), imported once
by LifecycleConfig.ready(): a paid renewal extends its server, a fully refunded
one takes its months back, a paid upgrade moves its server to the new plan and a
fully refunded one moves it back, and autopay hears of its payments and tokens."""

from billing.models import Order
from payments import hooks

from .autopay.mandates import token_event_apply
from .autopay.outcomes import autopay_payment_applied
from .plan_changes import upgrade_paid, upgrade_refund_move_back
from .renewals import renewal_paid, renewal_take_back


def autopay_order_applied(order, gateway_payment, result, server, *, source):
    """An autopay order (it registers a mandate, or was debited from one); no cost for others."""
    if order.payment_metadata.get("recurring") or order.payment_metadata.get("autopay_debit"):
        autopay_payment_applied(order, gateway_payment, result, server, source=source)


hooks.paid_handlers[Order.Kind.RENEWAL] = renewal_paid
hooks.refund_withdraw_handlers[Order.Kind.RENEWAL] = renewal_take_back
hooks.paid_handlers[Order.Kind.UPGRADE] = upgrade_paid
hooks.refund_withdraw_handlers[Order.Kind.UPGRADE] = upgrade_refund_move_back
if autopay_order_applied not in hooks.payment_applied_handlers:
    hooks.payment_applied_handlers.append(autopay_order_applied)
hooks.token_event_handler = token_event_apply
