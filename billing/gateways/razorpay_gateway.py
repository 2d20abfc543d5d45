"""Razorpay through its official SDK.

A client is built per call from settings (keys can rotate without a restart),
pointed at RAZORPAY_API_BASE, with a request timeout on every call and the
SDK's own retry left off: a slow Razorpay must never hold a customer's
request, and retries belong to our tasks, not to a web worker.
"""

import logging
import time

import razorpay
import requests
from django.conf import settings
from razorpay.errors import BadRequestError, ServerError
from razorpay.errors import GatewayError as RazorpaySDKGatewayError

from .base import GatewayMismatch, GatewayOrder, GatewayPayment, GatewayRefund, GatewayRejected, GatewayUnavailable

logger = logging.getLogger("billing.gateway")


class TimeoutSession(requests.Session):
    """requests has no session-wide timeout; the SDK passes none, so we add one."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def razorpay_client(timeout=None):
    client = razorpay.Client(
        auth=(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET),
        base_url=settings.RAZORPAY_API_BASE,
        session=TimeoutSession(timeout or settings.RAZORPAY_TIMEOUT_SECONDS),
    )
    client.enable_retry(False)
    return client


def call_razorpay(operation, fn, *args, **kwargs):
    """Run one SDK call, turning every SDK or network failure into a domain error."""
    started = time.monotonic()
    try:
        return fn(*args, **kwargs)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise GatewayUnavailable(f"Razorpay {operation}: {type(exc).__name__}") from exc
    except (ServerError, RazorpaySDKGatewayError) as exc:
        raise GatewayUnavailable(f"Razorpay {operation}: {exc}") from exc
    except BadRequestError as exc:
        raise GatewayRejected(f"Razorpay {operation} refused: {exc}") from exc
    except (requests.RequestException, ValueError, KeyError) as exc:  # ValueError: a non-JSON answer
        raise GatewayUnavailable(f"Razorpay {operation}: unexpected answer ({type(exc).__name__})") from exc
    finally:
        logger.info("razorpay_call operation=%s duration_ms=%.1f", operation, (time.monotonic() - started) * 1000)


class RazorpayGateway:
    name = "razorpay"

    def order_create(self, *, receipt, amount_paise, currency, notes) -> GatewayOrder:
        data = {"amount": amount_paise, "currency": currency, "receipt": receipt, "notes": notes}
        answer = call_razorpay("order_create", razorpay_client().order.create, data)
        order = GatewayOrder(
            id=str(answer["id"]),
            amount_paise=int(answer["amount"]),
            currency=str(answer["currency"]),
            receipt=str(answer.get("receipt") or ""),
        )
        if (order.amount_paise, order.currency) != (amount_paise, currency):
            raise GatewayMismatch(
                f"Razorpay order {order.id} echoed {order.amount_paise} {order.currency}, "
                f"expected {amount_paise} {currency}"
            )
        return order

    def payment_fetch(self, payment_id, *, timeout=None) -> GatewayPayment:
        answer = call_razorpay("payment_fetch", razorpay_client(timeout).payment.fetch, payment_id)
        return GatewayPayment.from_entity(answer)

    def payment_capture(self, payment_id, amount_paise, currency, *, timeout=None) -> GatewayPayment:
        client = razorpay_client(timeout)
        answer = call_razorpay(
            "payment_capture", client.payment.capture, payment_id, amount_paise, {"currency": currency}
        )
        return GatewayPayment.from_entity(answer)

    def order_payments(self, razorpay_order_id) -> list[GatewayPayment]:
        answer = call_razorpay("order_payments", razorpay_client().order.payments, razorpay_order_id)
        return [GatewayPayment.from_entity(item) for item in answer.get("items", [])]

    def payment_refund(self, payment_id, amount_paise, *, notes=None) -> GatewayRefund:
        data = {"amount": amount_paise, "notes": notes or {}}
        answer = call_razorpay("payment_refund", razorpay_client().payment.refund, payment_id, data)
        return GatewayRefund(
            id=str(answer["id"]),
            payment_id=str(answer.get("payment_id") or payment_id),
            amount_paise=int(answer["amount"]),
            status=str(answer.get("status") or "processed"),
        )
