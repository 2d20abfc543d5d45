import io
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.factories import OrderFactory
from servers.factories import ServerFactory
from servers.models import Server


def underpaid_order(customer, plan, fake_razorpay, client):
    """An order whose captured payment is 100 paise short: flagged for staff, no server.
    Returns (order, the fake Razorpay payment)."""
    from rest_framework.test import APIClient

    from billing.models import Order
    from payments.tests.conftest import post_webhook

    api = APIClient()
    api.force_authenticate(customer)
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    payment = fake_razorpay.pay(order.razorpay_order_id, amount=order.total_paise - 100)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", payment))
    order.refresh_from_db()
    return order, payment


class FakeTerminal(io.StringIO):
    """Stands in for a person at a terminal: isatty() is True and the answer is typed in advance."""

    def isatty(self):
        return True


def paid_order_without_server(user=None, plan=None, hours_ago=2):
    """The incident's state: money taken, order marked paid, no server row."""
    extra = {"user": user} if user else {}
    if plan:
        extra["plan"] = plan
    return OrderFactory(status="paid", paid_at=timezone.now() - timedelta(hours=hours_ago), **extra)


def stuck_server(status="failed", minutes_ago=60, last_error="Provider said: quota exceeded"):
    server = ServerFactory(status=status, last_error=last_error, order__paid_at=timezone.now())
    then = timezone.now() - timedelta(minutes=minutes_ago)
    Server.objects.filter(pk=server.pk).update(status_changed_at=then, waiting_since=then)
    server.refresh_from_db()
    return server


@pytest.fixture
def orphan(alice, plan):
    return paid_order_without_server(user=alice, plan=plan)
