"""Simulated payments for development (settings.PAYMENTS_SIMULATED, DEBUG only).

No money moves and nothing leaves the machine. Ids are derived so that every
answer can be recomputed without storage: the simulated Razorpay order id
carries the portal order number, and a simulated payment id carries the order
id, so `payment_fetch` can report the order's total as captured. Checkout
responses are signed with the same HMAC scheme as Razorpay, so the real
verify path (SDK signature check included) runs unchanged.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

from billing.models import Order

from .base import GatewayOrder, GatewayPayment, GatewayRefund, GatewayRejected, GatewayToken

ORDER_PREFIX = "order_SIM"
PAYMENT_PREFIX = "pay_SIM"
TOKEN_PREFIX = "token_SIM"
# A simulated autopay debit's payment id: the order's, marked, so fetches and the
# reconciler (order_payments) can report it captured without storage.
DEBIT_MARK = "AUTO"


def simulated_order_id(order_number):
    return ORDER_PREFIX + order_number.removeprefix("ORD-")


def sign_payment(razorpay_order_id, razorpay_payment_id, key_secret=None):
    """Razorpay's checkout signature: hex HMAC-SHA256 of "order_id|payment_id"."""
    secret = (key_secret or settings.RAZORPAY_KEY_SECRET).encode()
    return hmac.new(secret, f"{razorpay_order_id}|{razorpay_payment_id}".encode(), hashlib.sha256).hexdigest()


def simulated_checkout_response(order):
    """What Razorpay Checkout would hand its `handler` after a successful payment."""
    if not settings.PAYMENTS_SIMULATED:
        raise GatewayRejected("Simulated checkout is only available in development mode.")
    payment_id = PAYMENT_PREFIX + order.razorpay_order_id.removeprefix(ORDER_PREFIX) + secrets.token_hex(3).upper()
    return {
        "razorpay_order_id": order.razorpay_order_id,
        "razorpay_payment_id": payment_id,
        "razorpay_signature": sign_payment(order.razorpay_order_id, payment_id),
    }


class SimulatedGateway:
    name = "simulated"

    def order_create(self, *, receipt, amount_paise, currency, notes, recurring=None) -> GatewayOrder:
        return GatewayOrder(
            id=simulated_order_id(receipt), amount_paise=amount_paise, currency=currency, receipt=receipt
        )

    def _order_for_payment(self, payment_id):
        order_id = ORDER_PREFIX + payment_id.removeprefix(PAYMENT_PREFIX)[:10]
        order = Order.objects.filter(razorpay_order_id=order_id).first()
        if order is None:
            raise GatewayRejected(f"Unknown simulated payment {payment_id}")
        return order

    def payment_fetch(self, payment_id, *, timeout=None) -> GatewayPayment:
        order = self._order_for_payment(payment_id)
        entity = {
            "id": payment_id,
            "order_id": order.razorpay_order_id,
            "status": "captured",
            "amount": order.total_paise,
            "currency": order.currency,
            "method": "simulated",
        }
        recurring = order.payment_metadata.get("recurring")
        if recurring:  # paying an autopay order registers a (simulated) token
            entity.update(token_id=simulated_token_id(order), customer_id=recurring["customer_id"])
        return GatewayPayment.from_entity(entity)

    def payment_capture(self, payment_id, amount_paise, currency, *, timeout=None) -> GatewayPayment:
        return self.payment_fetch(payment_id)

    def order_payments(self, razorpay_order_id) -> list[GatewayPayment]:
        order = Order.objects.filter(razorpay_order_id=razorpay_order_id).first()
        if order is None or not order.payment_metadata.get("autopay_debit"):
            return []
        # A simulated debit is captured as soon as it is asked: the reconciler applies it.
        return [self.payment_fetch(simulated_debit_payment_id(razorpay_order_id))]

    def customer_create(self, *, name, email, contact) -> str:
        return "cust_SIM" + hashlib.sha256(f"{email}|{contact}".encode()).hexdigest()[:14].upper()

    def payment_create_recurring(self, *, order_id, **details) -> str:
        return simulated_debit_payment_id(order_id)

    def token_fetch(self, customer_id, token_id) -> GatewayToken:
        return GatewayToken(id=token_id, status="confirmed", method="simulated")

    def token_cancel(self, customer_id, token_id) -> None:
        return None


def simulated_token_id(order):
    return TOKEN_PREFIX + order.number.removeprefix("ORD-")


def simulated_debit_payment_id(razorpay_order_id):
    return PAYMENT_PREFIX + razorpay_order_id.removeprefix(ORDER_PREFIX) + DEBIT_MARK

    def payment_refund(self, payment_id, amount_paise, *, notes=None) -> GatewayRefund:
        return GatewayRefund(
            id="rfnd_SIM" + secrets.token_hex(7).upper(),
            payment_id=payment_id,
            amount_paise=amount_paise,
            status="processed",
        )
