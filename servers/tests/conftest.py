import pytest
from django.db import transaction
from django.utils import timezone

from billing.factories import OrderFactory
from billing.models import Order
from servers.services import server_create_for_paid_order


@pytest.fixture(autouse=True)
def _instant_simulated_provisioning(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


@pytest.fixture
def alert_recipients(settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ALERT_WEBHOOK_URL = ""
    settings.SITE_URL = "https://portal.example.com"
    return settings.ALERT_EMAILS


@pytest.fixture
def paid_order(alice, plan):
    return OrderFactory(user=alice, plan=plan, status=Order.Status.PAID, paid_at=timezone.now())


def server_for(order, source="verify"):
    """What the payment funnel does: lock the paid order, write its server."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        return server_create_for_paid_order(locked, source=source)
