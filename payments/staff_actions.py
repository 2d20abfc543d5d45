"""The staff actions that move money back (security.staff_actions): refund an
order (its amount or, ticked explicitly, everything that is left of the payment
that paid it) and refund a payment (the dashboard's flagged duplicates). Both call
payments.refunds, which holds the order and payment locks across the Razorpay
call; the framework writes the staff-audit row in that transaction."""

from billing.forms import RefundForm
from billing.models import Order, Payment
from core.templatetags.money import rupees
from security.staff_actions import Done, StaffActionDefinition, StaffActionRefused

from .gateways import GatewayError
from .refunds import RefundRefused, order_refund, order_refund_plan, payment_refundable_paise, refund_payment

EXPLAINS = "Refunds go through Razorpay and cannot be undone. A refund Razorpay reports as pending counts once it is processed."


def refund_done(order, refund, amount_paise):
    details = {
        "payment_id": refund.payment.razorpay_payment_id,
        "refund_id": refund.razorpay_refund_id,
        "amount_paise": amount_paise,
    }
    message = f"{order.number}: refund {refund.razorpay_refund_id} of {rupees(refund.amount_paise)} is {refund.status}."
    return Done(message, details)


def order_refund_perform(order, *, reason, actor, amount_paise=None, source="admin"):
    """A gateway error propagates (nothing recorded): callers report it as Razorpay's failure."""
    try:
        plan = order_refund_plan(order.number, amount_paise)
        refund = order_refund(order.number, reason=reason, actor=actor, amount_paise=plan.amount_paise, source=source)
    except RefundRefused as exc:
        raise StaffActionRefused(str(exc)) from exc
    return refund_done(order, refund, plan.amount_paise)


def order_not_refundable(order, amount_paise=None):
    """Why refunding `order` (this amount, or all that is left) is refused now, or None."""
    try:
        order_refund_plan(order.number, amount_paise)
    except RefundRefused as exc:
        return str(exc)
    return None


def order_refund_describe(order):
    try:
        plan = order_refund_plan(order.number)
    except RefundRefused:
        return ""
    return (
        f"{rupees(plan.amount_paise)} left to refund of payment {plan.payment_id} (total {rupees(order.total_paise)})"
    )


def payment_refund_perform(payment, *, reason, actor):
    try:
        left = payment_refundable_paise(payment)
        refund = refund_payment(payment_id=payment.razorpay_payment_id, reason=reason, actor=actor)
    except RefundRefused as exc:
        raise StaffActionRefused(str(exc)) from exc
    return refund_done(payment.order, refund, left)


def payment_not_refundable(payment):
    if payment.status not in (Payment.Status.CAPTURED, Payment.Status.REFUNDED):
        return f"Payment {payment.razorpay_payment_id} is {payment.status}; only a captured payment can be refunded."
    if payment_refundable_paise(payment) <= 0:
        return f"Payment {payment.razorpay_payment_id} is already fully refunded."
    return None


REFUND_ORDER = StaffActionDefinition(
    key="refund",
    label="Refund",
    model=Order,
    permission="billing.refund_order",
    explains=EXPLAINS,
    unavailable=order_not_refundable,
    perform=order_refund_perform,
    fresh_second_factor=True,
    form=RefundForm,
    refusal_field="amount",
    describe=order_refund_describe,
    list_title="Refund orders through Razorpay",
    service_errors=(GatewayError,),
    refused_prefix="Refund not made: ",
    object_refused="{obj}: refund not made: {why}",
)
REFUND_PAYMENT = StaffActionDefinition(
    key="refund",
    label="Refund",
    model=Payment,
    permission="billing.refund_order",
    explains=EXPLAINS + " This refunds everything that is left of this one payment.",
    unavailable=payment_not_refundable,
    perform=payment_refund_perform,
    fresh_second_factor=True,
    audit_target=lambda payment: payment.order,
    service_errors=(GatewayError,),
    refused_prefix="Refund not made: ",
)

DEFINITIONS = [REFUND_ORDER, REFUND_PAYMENT]
