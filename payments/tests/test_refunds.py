"""Refunds that finish: Razorpay's answer recorded as it is, pending until
processed or failed, events that arrive before their payment kept, and one lock
order (order, then payment) wherever money moves."""

import threading
import time

import pytest
from django.test import Client

from billing.models import Order, Payment, Refund, WebhookEvent
from payments.refunds import refund_payment as payment_refund_by_staff  # the dashboard refund's service

from .conftest import post_webhook


def verified(api, order, fake):
    payment = fake.pay(order.razorpay_order_id)
    assert api.post("/api/v1/payments/verify/", fake.checkout_response(payment), format="json").status_code == 200
    order.refresh_from_db()
    return payment


@pytest.mark.django_db
def test_a_pending_refund_does_not_count_until_razorpay_processes_it(api, client, portal_order, fake_razorpay, staff):
    payment = verified(api, portal_order, fake_razorpay)
    fake_razorpay.refund_status = "pending"

    refund = payment_refund_by_staff(payment_id=payment["id"], actor=staff, reason="Customer asked")

    assert refund.status == "pending"
    portal_order.refresh_from_db()
    assert portal_order.status == "paid" and Payment.objects.get().status == "captured"

    entity = fake_razorpay.refund_settle(refund.razorpay_refund_id)
    assert post_webhook(client, *fake_razorpay.webhook("refund.processed", refund=entity)).status_code == 200
    refund.refresh_from_db()
    portal_order.refresh_from_db()
    assert refund.status == "processed"
    assert portal_order.status == "refunded" and Payment.objects.get().status == "refunded"


@pytest.mark.django_db
def test_a_failed_refund_is_recorded_and_alerts_staff(
    api, client, portal_order, fake_razorpay, staff, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from alerts.models import Incident

    settings.ALERT_EMAILS = ["ops@example.com"]
    payment = verified(api, portal_order, fake_razorpay)
    fake_razorpay.refund_status = "pending"
    refund = payment_refund_by_staff(payment_id=payment["id"], actor=staff, reason="Customer asked")

    entity = fake_razorpay.refund_settle(refund.razorpay_refund_id, "failed")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, *fake_razorpay.webhook("refund.failed", refund=entity)).status_code == 200

    refund.refresh_from_db()
    portal_order.refresh_from_db()
    assert refund.status == "failed" and portal_order.status == "paid"
    incident = Incident.objects.get(key=f"refund-failed:{refund.razorpay_refund_id}")
    named = f"Razorpay failed refund {refund.razorpay_refund_id} of ₹2,643.20 on payment {payment['id']}"
    assert named in incident.detail and "paise" not in incident.detail  # rupees, as staff read it
    assert any(named in m.body for m in mail.outbox)
    # A late "processed" for a failed refund moves nothing back.
    assert post_webhook(client, *fake_razorpay.webhook("refund.processed", refund=entity)).status_code == 200
    refund.refresh_from_db()
    assert refund.status == "failed"


@pytest.mark.django_db
def test_a_refund_processed_before_its_payment_captured_is_applied_when_the_payment_arrives(
    client, portal_order, fake_razorpay, django_capture_on_commit_callbacks
):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    entity = {"id": "rfnd_early", "payment_id": payment["id"], "amount": payment["amount"], "status": "processed"}
    assert post_webhook(client, *fake_razorpay.webhook("refund.processed", refund=entity)).status_code == 200
    assert WebhookEvent.objects.get(event_type="refund.processed").status == "waiting"

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, *fake_razorpay.webhook("payment.captured", payment)).status_code == 200

    portal_order.refresh_from_db()
    assert Refund.objects.get().razorpay_refund_id == "rfnd_early"
    assert portal_order.status == "refunded"
    assert WebhookEvent.objects.get(event_type="refund.processed").status == "processed"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_staff_refund_beside_a_webhook_for_the_same_payment_does_not_deadlock(alice, staff, plan, fake_razorpay):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(alice)
    order = Order.objects.get(number=api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"])
    payment = verified(api, order, fake_razorpay)
    fake_razorpay.delay_seconds = 0.8  # the refund call is slow; a redelivered webhook comes in meanwhile
    outcome = {}

    def staff_refund():
        try:
            outcome["refund"] = payment_refund_by_staff(payment_id=payment["id"], actor=staff, reason="Duplicate")
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["error"] = exc
        finally:
            from django.db import connections

            connections.close_all()

    thread = threading.Thread(target=staff_refund)
    thread.start()
    time.sleep(0.3)
    response = post_webhook(Client(), *fake_razorpay.webhook("payment.captured", payment, event_id="evt_redelivered"))
    thread.join(20)

    assert response.status_code == 200
    assert "error" not in outcome, outcome.get("error")
    assert WebhookEvent.objects.get(event_id="evt_redelivered").status == "processed"
    assert Refund.objects.filter(razorpay_refund_id__in=list(fake_razorpay.refunds)).count() == 1
