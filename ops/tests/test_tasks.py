"""The periodic safety nets: each scheduled task exists and does its job."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.factories import WebhookEventFactory
from billing.models import Order, WebhookEvent
from hostingportal.celery import app as celery_app
from ops.schedule import BEAT_SCHEDULE
from ops.tasks import reconcile_recent_payments, retry_webhook_events
from servers.models import Server


def test_every_scheduled_task_is_a_registered_task_with_an_interval():
    celery_app.loader.import_default_modules()
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in celery_app.tasks, name
        assert entry["schedule"] in (60.0, 300.0, 900.0, 86400.0)


@pytest.fixture
def paid_at_razorpay(alice, plan, fake_razorpay):
    """An order the customer paid at Razorpay, of which the portal has heard nothing yet."""
    api = APIClient()
    api.force_authenticate(alice)
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    return order, fake_razorpay.pay(order.razorpay_order_id)


@pytest.mark.django_db
def test_a_webhook_that_failed_is_retried_by_the_minute_task(paid_at_razorpay, fake_razorpay):
    order, payment = paid_at_razorpay
    body, _ = fake_razorpay.webhook("payment.captured", payment)
    event = WebhookEventFactory(raw_body=body.decode(), status="failed", error="OperationalError: db restarting")
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(minutes=2))
    assert retry_webhook_events() == 1
    event.refresh_from_db()
    assert event.status == "processed"
    assert Server.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_the_quarter_hour_task_reconciles_every_order_within_the_capture_window(paid_at_razorpay):
    order, payment = paid_at_razorpay
    # Four days old: older than the command's default 72 hours, still inside Razorpay's window.
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=4))
    result = reconcile_recent_payments()
    assert result["checked"] == 1 and result["applied"][0]["payment"] == payment["id"]
    assert Server.objects.filter(order=order).count() == 1
