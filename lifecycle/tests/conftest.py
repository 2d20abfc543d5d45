"""A small world for lifecycle tests: an active server, its renewals, paying them through HTTP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Order
from payments.services import order_gateway_ensure
from servers.factories import ServerFactory
from servers.models import Server, SimulatedNode
from servers.services import server_spec


@pytest.fixture(autouse=True)
def _instant_simulated_backend(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


@pytest.fixture
def alert_recipients(settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ALERT_WEBHOOK_URL = ""
    settings.SITE_URL = "https://portal.example.com"
    return settings.ALERT_EMAILS


def active_server(user, plan, *, paid_until=None, months=1, **fields) -> Server:
    """An active server whose first order was paid a while ago; `paid_until` moves its due date."""
    now = timezone.now()
    server = ServerFactory(
        order__user=user,
        order__plan=plan,
        order__billing_cycle_months=months,
        order__status=Order.Status.PAID,
        order__paid_at=now - timedelta(days=30),
        status=Server.Status.ACTIVE,
        paid_until=paid_until or now + timedelta(days=20),
        billing_cycle_months=months,
        **fields,
    )
    # Its machine at the simulated provider, running.
    node = SimulatedNode.objects.create(
        tag=server_spec(server).node_name,
        node_id=f"sim-{server.pk}",
        server_id=server.pk,
        hostname=f"{server.name}.servers.example.net",
        ip_address="192.0.2.10",
        ready_at=now - timedelta(days=30),
    )
    server.provider_node_id = node.node_id
    server.save(update_fields=["provider_node_id"])
    return server


@pytest.fixture
def server(alice, plan):
    return active_server(alice, plan)


def verify_payment(client, fake_razorpay, order, **pay):
    """Pay `order` at the fake Razorpay (its Razorpay order made as checkout makes it) and post verify."""
    order = order_gateway_ensure(order)
    payment = fake_razorpay.pay(order.razorpay_order_id, **pay)
    response = client.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
    return response, payment
