"""Razorpay through its official SDK.

Clients are built from settings (keys can rotate without a restart) and kept
per thread and per settings, so a worker reuses its open connection to
Razorpay instead of paying a TCP and TLS handshake on every call. Every client
points at RAZORPAY_API_BASE, has a request timeout on every call, and has the
SDK's own retry off: a slow Razorpay must never hold a customer's request, and
retries belong to our tasks, not to a web worker.
"""

import importlib.metadata
import logging
import os
import threading
import time

import razorpay
import requests
from django.conf import settings
from razorpay.errors import BadRequestError, ServerError
from razorpay.errors import GatewayError as RazorpaySDKGatewayError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.templatetags.money import rupees

from .base import (
    GatewayMismatch,
    GatewayOrder,
    GatewayPayment,
    GatewayRefund,
    GatewayRejected,
    GatewayToken,
    GatewayUnavailable,
    RecurringTerms,
)

logger = logging.getLogger("billing.gateway")


class TimeoutSession(requests.Session):
    """requests has no session-wide timeout; the SDK passes none, so we add one."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class PortalRazorpayClient(razorpay.Client):
    # The SDK looks its own version up in the installed package metadata for the
    # User-Agent of every request (about 0.2 ms each); it cannot change while we run.
    sdk_version = importlib.metadata.version("razorpay")

    def _get_version(self):
        return self.sdk_version


def new_razorpay_client(key_id, key_secret, base_url, timeout):
    session = TimeoutSession(timeout)
    # Retry only a failed connect (nothing was sent, so even a capture is safe to
    # resend): a kept-alive connection that Razorpay closed while idle then costs
    # one reconnect instead of a failed payment confirmation.
    session.mount(base_url, HTTPAdapter(max_retries=Retry(total=1, connect=1, read=0, status=0, other=0)))
    # requests reads proxy settings from the environment again on every call
    # (0.15 ms); read them once here. The SDK pins its own CA bundle per call.
    session.proxies = requests.utils.get_environ_proxies(base_url)
    session.trust_env = False
    client = PortalRazorpayClient(auth=(key_id, key_secret), base_url=base_url, session=session)
    client.enable_retry(False)
    return client


_clients = threading.local()
MAX_CLIENTS_PER_THREAD = 8  # settings rarely change; tests change them per test
# A forked child (a Celery pool process) must not share its parent's open
# connections: it starts with no clients of its own.
os.register_at_fork(after_in_child=lambda: _clients.__dict__.clear())


def razorpay_client(timeout=None):
    """This thread's client for the current settings and timeout."""
    key = (
        settings.RAZORPAY_KEY_ID,
        settings.RAZORPAY_KEY_SECRET,
        settings.RAZORPAY_API_BASE,
        timeout or settings.RAZORPAY_TIMEOUT_SECONDS,
    )
    clients = _clients.__dict__.setdefault("by_settings", {})
    client = clients.get(key)
    if client is None:
        if len(clients) >= MAX_CLIENTS_PER_THREAD:
            for old in clients.values():
                old.session.close()
            clients.clear()
        client = clients[key] = new_razorpay_client(*key)
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

    def order_create(self, *, receipt, amount_paise, currency, notes, recurring: RecurringTerms = None) -> GatewayOrder:
        data = {"amount": amount_paise, "currency": currency, "receipt": receipt, "notes": notes}
        if recurring is not None:
            data["customer_id"] = recurring.customer_id
            if recurring.max_amount_paise is not None:
                data["token"] = {
                    "max_amount": recurring.max_amount_paise,
                    "expire_at": recurring.expire_at,
                    "frequency": recurring.frequency,
                }
        answer = call_razorpay("order_create", razorpay_client().order.create, data)
        order = GatewayOrder(
            id=str(answer["id"]),
            amount_paise=int(answer["amount"]),
            currency=str(answer["currency"]),
            receipt=str(answer.get("receipt") or ""),
        )
        if (order.amount_paise, order.currency) != (amount_paise, currency):
            raise GatewayMismatch(
                f"Razorpay order {order.id} echoed {rupees(order.amount_paise)} {order.currency}, "
                f"expected {rupees(amount_paise)} {currency}"
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
            status=str(answer.get("status") or "pending"),  # counted only once Razorpay says processed
        )

    # --- Recurring payments (autopay) -------------------------------------------------

    def customer_create(self, *, name, email, contact) -> str:
        """The Razorpay customer for these details; with fail_existing "0" Razorpay
        answers the existing one instead of an error, so asking again is harmless."""
        data = {"name": name[:50], "email": email, "contact": contact, "fail_existing": "0"}
        answer = call_razorpay("customer_create", razorpay_client().customer.create, data)
        return str(answer["id"])

    def payment_create_recurring(
        self, *, email, contact, amount_paise, currency, order_id, customer_id, token_id, description, notes
    ) -> str:
        """Ask Razorpay for one debit on a confirmed token. Moves money: the caller
        records the attempt before calling, and a lost answer is looked up
        (order_payments), never asked again. Returns the payment id; the outcome
        comes later as payment.captured or payment.failed."""
        data = {
            "email": email,
            "contact": contact,
            "amount": amount_paise,
            "currency": currency,
            "order_id": order_id,
            "customer_id": customer_id,
            "token": token_id,
            "recurring": "1",
            "description": description,
            "notes": notes,
        }
        answer = call_razorpay("payment_create_recurring", razorpay_client().payment.createRecurring, data)
        return str(answer["razorpay_payment_id"])

    def token_fetch(self, customer_id, token_id) -> GatewayToken:
        answer = call_razorpay("token_fetch", razorpay_client().token.fetch, customer_id, token_id)
        return GatewayToken.from_entity(answer)

    def token_cancel(self, customer_id, token_id) -> None:
        call_razorpay("token_cancel", razorpay_client().token.cancel, customer_id, token_id)
