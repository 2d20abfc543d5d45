"""Payment gateways behind one small interface (see base.py)."""

from django.conf import settings

from .base import (
    GatewayError,
    GatewayMismatch,
    GatewayOrder,
    GatewayPayment,
    GatewayRefund,
    GatewayRejected,
    GatewayToken,
    GatewayUnavailable,
    RecurringTerms,
)
from .razorpay_gateway import RazorpayGateway, razorpay_client
from .simulated import SimulatedGateway

__all__ = [
    "GatewayError",
    "GatewayMismatch",
    "GatewayOrder",
    "GatewayPayment",
    "GatewayRefund",
    "GatewayRejected",
    "GatewayToken",
    "GatewayUnavailable",
    "RecurringTerms",
    "get_gateway",
    "payment_signature_valid",
    "webhook_signature_valid",
]


def get_gateway():
    return SimulatedGateway() if settings.PAYMENTS_SIMULATED else RazorpayGateway()


def payment_signature_valid(razorpay_order_id, razorpay_payment_id, signature) -> bool:
    """Checkout's signature, checked with the SDK. Works for simulated payments
    too: they are signed with the dev key secret by the same scheme."""
    from razorpay.errors import SignatureVerificationError

    try:
        return bool(
            razorpay_client().utility.verify_payment_signature(
                {
                    "razorpay_order_id": razorpay_order_id,
                    "razorpay_payment_id": razorpay_payment_id,
                    "razorpay_signature": signature,
                }
            )
        )
    except (SignatureVerificationError, TypeError):  # TypeError: a non-string signature
        return False


def webhook_signature_valid(body: str, signature: str) -> bool:
    from razorpay.errors import SignatureVerificationError

    try:
        return bool(
            razorpay_client().utility.verify_webhook_signature(body, signature, settings.RAZORPAY_WEBHOOK_SECRET)
        )
    except (SignatureVerificationError, TypeError):
        return False
