"""Reconciliation against the fake Razorpay: payments whose callback and webhook were both lost."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.models import Order, OrderEvent, Payment
from payments.reconcile import payments_reconcile
from servers.models import Server


def age(order, **delta):
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(**delta))
    order.refresh_from_db()


def reconcile_command(*args):
    out = io.StringIO()
    try:
        call_command("reconcile_payments", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def second_order(api, plan):
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    return Order.objects.get(number=number)


@pytest.mark.django_db
def test_a_captured_payment_with_no_webhook_is_found_and_provisioned_once(
    portal_order, fake_razorpay, django_capture_on_commit_callbacks
):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    with django_capture_on_commit_callbacks(execute=True):
        first = payments_reconcile()
    assert first.checked == 1
    assert first.applied == [
        {"order": portal_order.number, "payment": payment["id"], "status": "captured", "result": "paid"}
    ]
    portal_order.refresh_from_db()
    assert portal_order.status == "paid" and portal_order.payment_metadata["confirmed_by"] == "reconcile"
    server = Server.objects.get(order=portal_order)
    server.refresh_from_db()
    assert server.status == "active"

    with django_capture_on_commit_callbacks(execute=True):
        second = payments_reconcile()
    assert second.checked == 0  # a paid order is no longer awaiting payment
    assert Server.objects.filter(order=portal_order).count() == 1 and Payment.objects.count() == 1


@pytest.mark.django_db
def test_an_authorized_payment_is_captured_then_applied(portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    report = payments_reconcile()
    assert ("POST", f"/v1/payments/{payment['id']}/capture") in fake_razorpay.requests
    assert fake_razorpay.payments[payment["id"]]["status"] == "captured"
    assert report.applied[0]["status"] == "captured" and report.applied[0]["result"] == "paid"
    assert Server.objects.filter(order=portal_order).count() == 1


@pytest.mark.django_db
def test_an_order_past_the_capture_window_with_nothing_captured_is_cancelled(portal_order, fake_razorpay):
    fake_razorpay.pay(portal_order.razorpay_order_id, status="failed")
    age(portal_order, days=6)
    report = payments_reconcile()
    assert report.cancelled == [portal_order.number]
    portal_order.refresh_from_db()
    assert portal_order.status == "cancelled"
    event = OrderEvent.objects.get(order=portal_order, kind="status", to_status="cancelled")
    assert event.source == "reconcile" and "capture window" in event.message
    assert Payment.objects.get().status == "failed"  # the failed attempt was still recorded
    assert payments_reconcile().checked == 0


@pytest.mark.django_db
def test_a_recent_authorization_on_an_old_order_is_captured_not_cancelled(portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")  # made just now
    age(portal_order, days=6)  # the customer paid an order opened six days ago
    report = payments_reconcile()
    assert report.applied[0]["result"] == "paid" and report.cancelled == []
    assert fake_razorpay.payments[payment["id"]]["status"] == "captured"
    assert Server.objects.filter(order=portal_order).count() == 1


@pytest.mark.django_db
def test_an_authorization_past_its_own_capture_window_is_not_captured(portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    fake_razorpay.payments[payment["id"]]["created_at"] -= 6 * 24 * 3600
    age(portal_order, days=6)
    report = payments_reconcile()
    assert ("POST", f"/v1/payments/{payment['id']}/capture") not in fake_razorpay.requests
    assert report.cancelled == [portal_order.number]
    assert Payment.objects.get().status == "authorized"


@pytest.mark.django_db
def test_a_late_capture_event_for_a_payment_already_refunded_does_not_provision(client, portal_order, fake_razorpay):
    from payments.tests.conftest import post_webhook

    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    captured_event = fake_razorpay.webhook("payment.captured", payment)
    fake_razorpay.payments[payment["id"]]["status"] = "refunded"  # refunded before we heard of it
    assert payments_reconcile().applied[0]["status"] == "refunded"

    assert post_webhook(client, *captured_event).status_code == 200  # the delayed capture event

    portal_order.refresh_from_db()
    assert portal_order.status == "created" and not Server.objects.exists()
    assert Payment.objects.get().status == "refunded"


@pytest.mark.django_db
def test_an_old_order_that_was_captured_is_paid_not_cancelled(portal_order, fake_razorpay):
    fake_razorpay.pay(portal_order.razorpay_order_id)
    age(portal_order, days=6)
    report = payments_reconcile()
    assert report.cancelled == []
    portal_order.refresh_from_db()
    assert portal_order.status == "paid"


@pytest.mark.django_db
def test_orders_between_since_and_the_capture_window_are_not_asked_about(portal_order, fake_razorpay):
    age(portal_order, days=4)
    assert payments_reconcile(since_hours=72).checked == 0
    assert payments_reconcile(since_hours=24 * 5).checked == 1
    portal_order.refresh_from_db()
    assert portal_order.status == "created"


@pytest.mark.django_db
def test_a_failed_attempt_is_recorded_once_however_often_reconcile_runs(portal_order, fake_razorpay):
    fake_razorpay.pay(portal_order.razorpay_order_id, status="failed")
    payments_reconcile()
    payments_reconcile()
    assert OrderEvent.objects.filter(order=portal_order, kind="payment_failed").count() == 1


@pytest.mark.django_db
def test_a_gateway_error_on_one_order_does_not_stop_the_others(portal_order, second_order, fake_razorpay):
    fake_razorpay.pay(second_order.razorpay_order_id)
    age(portal_order, hours=2)  # checked first
    fake_razorpay.fail_next = 1
    status, out = reconcile_command("--json")
    assert status == 1
    body = json.loads(out)
    assert set(body) == {"checked", "applied", "cancelled", "errors"}
    assert body["checked"] == 2
    assert [error["order"] for error in body["errors"]] == [portal_order.number]
    assert "GatewayUnavailable" in body["errors"][0]["error"]
    assert [item["order"] for item in body["applied"]] == [second_order.number]
    assert Server.objects.filter(order=second_order).count() == 1


@pytest.mark.django_db
def test_the_command_exits_0_and_prints_text_when_all_is_well(portal_order, fake_razorpay):
    fake_razorpay.pay(portal_order.razorpay_order_id)
    status, out = reconcile_command()
    assert status == 0
    assert f"to {portal_order.number}: paid" in out


@pytest.mark.django_db
def test_a_bad_since_is_bad_arguments(db):
    status, _ = reconcile_command("--since", "0")
    assert status == 2


@pytest.mark.postgres_only
def test_reconcile_json_prints_one_json_object_while_razorpay_hangs(transactional_db, portal_order, fake_razorpay):
    """Issue 18: with Razorpay slow, the SDK's own "Connection failed." lines were printed
    on stdout, so `--json` output was not one JSON object."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    from servers.tests.test_worker import worker_database_url

    fake_razorpay.delay_seconds = 3  # hangs past the portal's timeout below
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "RAZORPAY_KEY_ID": fake_razorpay.key_id,
        "RAZORPAY_KEY_SECRET": fake_razorpay.key_secret,
        "RAZORPAY_WEBHOOK_SECRET": fake_razorpay.webhook_secret,
        "RAZORPAY_API_BASE": fake_razorpay.base_url,
        "RAZORPAY_TIMEOUT_SECONDS": "0.5",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "reconcile_payments", "--json"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    report = json.loads(result.stdout)  # the whole of stdout is one object
    assert result.stdout.strip().count("\n") == 0
    assert result.returncode == 1
    assert report["checked"] == 1 and [e["order"] for e in report["errors"]] == [portal_order.number]
    assert "stdout_diverted" in result.stderr  # the SDK's line is kept, in the log
