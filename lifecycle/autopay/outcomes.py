"""What a payment means for autopay, told by the payment funnel.

The funnel calls `autopay_payment_applied` in its transaction, under the order's
row lock, only for orders that register a mandate (payment_metadata "recurring")
or were debited from one ("autopay_debit"): every other payment costs nothing here.
"""

import logging

from django.utils import timezone

from outbox.services import mails_queue_for_sweep

from . import mails
from .mandates import mandate_email, mandate_register, mandate_transition
from .models import AutopayDebit, AutopayMandate

logger = logging.getLogger("lifecycle.autopay")

# A failed debit whose reason says the mandate itself is gone ends the mandate.
TOKEN_GONE_WORDS = ("token", "mandate")
TOKEN_GONE_STATES = ("cancel", "revoked", "expired", "paused", "not valid", "invalid", "not active")


def token_gone(gateway_payment) -> bool:
    text = f"{gateway_payment.error_code} {gateway_payment.error_description}".lower()
    return any(word in text for word in TOKEN_GONE_WORDS) and any(state in text for state in TOKEN_GONE_STATES)


def autopay_payment_applied(order, gateway_payment, result, server, *, source):
    """Registration (a paid autopay order names its token) and debit outcomes: a
    captured debit is recorded as such (the renewal itself was paid by the funnel,
    invoice and receipt included); a failed one is never asked again, the customer
    is mailed once to pay by hand, and a reason saying the token is gone ends the
    mandate. Idempotent: repeated deliveries change nothing more."""
    if result == "paid" and order.payment_metadata.get("recurring") and server is not None:
        mandate_register(order, server, gateway_payment, source=source)
    if not order.payment_metadata.get("autopay_debit"):
        return
    debit = AutopayDebit.objects.select_for_update().filter(order_id=order.pk).select_related("mandate").first()
    if debit is None or not debit_payment(debit, gateway_payment):
        return  # another payment of the order (paid by hand): the funnel handles it
    if gateway_payment.status == "captured" and debit.status != AutopayDebit.Status.CAPTURED:
        debit_settle(debit, AutopayDebit.Status.CAPTURED, gateway_payment)
    elif gateway_payment.status == "failed" and debit.status in (
        AutopayDebit.Status.ASKING,
        AutopayDebit.Status.REQUESTED,
    ):
        debit_settle(debit, AutopayDebit.Status.FAILED, gateway_payment)
        # The order's page no longer says a debit is in progress (the order's lock is held).
        order.payment_metadata = {**order.payment_metadata, "autopay_debit": "failed"}
        order.save(update_fields=["payment_metadata", "updated_at"])
        email = mandate_email(debit.mandate)
        mails_queue_for_sweep([mails.debit_failed(order, email)])
        if token_gone(gateway_payment):
            mandate = AutopayMandate.objects.select_for_update().get(pk=debit.mandate_id)
            mandate.razorpay_cancelled_at = mandate.razorpay_cancelled_at or timezone.now()
            if mandate_transition(
                mandate, AutopayMandate.Status.CANCELLED, source=source, note=gateway_payment.error_description
            ):
                mails_queue_for_sweep([mails.autopay_off(mandate, email, "the bank no longer accepts the mandate")])


def debit_payment(debit, gateway_payment) -> bool:
    """Is this the debit's payment? Its id once recorded; before that (the webhook
    can beat the runner's own write), a payment from the mandate's token."""
    if debit.razorpay_payment_id:
        return gateway_payment.id == debit.razorpay_payment_id
    return bool(gateway_payment.token_id) and gateway_payment.token_id == debit.mandate.razorpay_token_id


def debit_settle(debit, status, gateway_payment):
    debit.status = status
    debit.razorpay_payment_id = debit.razorpay_payment_id or gateway_payment.id
    debit.error = gateway_payment.error_description if status == AutopayDebit.Status.FAILED else ""
    debit.lease_until = None
    debit.save(update_fields=["status", "razorpay_payment_id", "error", "lease_until", "updated_at"])
    logger.info("autopay_debit_settled order=%s status=%s payment=%s", debit.order_id, status, gateway_payment.id)
