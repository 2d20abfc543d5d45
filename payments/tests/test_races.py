"""Concurrent arrivals of one payment, on PostgreSQL with real row locks."""

import time

import pytest
from django.core import mail
from rest_framework.test import APIClient

from billing.models import Order, Payment
from conftest import in_threads
from hostingportal.celery import app as celery_app
from servers.models import Server

from .conftest import post_webhook


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_verifies_and_ten_webhooks_in_parallel_give_exactly_one_server(alice, plan, fake_razorpay):
    api = APIClient()
    api.force_authenticate(alice)
    order_number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=order_number)
    payment = fake_razorpay.pay(order.razorpay_order_id)
    checkout = fake_razorpay.checkout_response(payment)

    def verify_call():
        client = APIClient()
        client.force_authenticate(alice)
        return client.post("/api/v1/payments/verify/", checkout, format="json").status_code

    def webhook_call(kind):
        from django.test import Client

        return lambda: post_webhook(Client(), *fake_razorpay.webhook(kind, payment)).status_code

    calls = [verify_call] * 10 + [webhook_call("payment.captured")] * 5 + [webhook_call("order.paid")] * 5
    results, errors = in_threads(calls)
    assert not errors, errors
    assert results.count(200) == 20
    assert Server.objects.filter(order=order).count() == 1
    assert Payment.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.status == "paid" and order.invoice_number


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_have_no_gaps_under_concurrent_payments(alice, plan, fake_razorpay):
    api = APIClient()
    api.force_authenticate(alice)
    orders = [
        Order.objects.get(number=api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"])
        for _ in range(8)
    ]
    payments = [fake_razorpay.pay(o.razorpay_order_id) for o in orders]

    def verify_call(payment):
        def call():
            client = APIClient()
            client.force_authenticate(alice)
            return client.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")

        return call

    results, errors = in_threads([verify_call(p) for p in payments])
    assert not errors, errors
    numbers = sorted(int(n.rsplit("/", 1)[1]) for n in Order.objects.values_list("invoice_number", flat=True))
    assert numbers == list(range(1, 9))


@pytest.mark.django_db
def test_a_broker_that_is_down_does_not_fail_or_slow_the_payment(
    api, portal_order, fake_razorpay, django_capture_on_commit_callbacks
):
    from conftest import celery_configure
    from servers.services import pending_servers_enqueue

    original = celery_app.conf.broker_url
    celery_configure(task_always_eager=False, broker_url="redis://127.0.0.1:1/0")  # nothing listens there
    try:
        payment = fake_razorpay.pay(portal_order.razorpay_order_id)
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
        elapsed = time.monotonic() - started
    finally:
        celery_configure(task_always_eager=True, broker_url=original)
    assert response.status_code == 200
    assert elapsed < 3, f"payment took {elapsed:.2f}s with the broker down"
    server = Server.objects.get(order=portal_order)
    assert server.status == "pending" and server.queued_at is None, "a failed publish must leave it to the sweeper"
    assert not mail.outbox
    # The broker is back: the sweeper finds the server whose task never started,
    # and the customer's payment email goes out with it.
    with django_capture_on_commit_callbacks(execute=True):  # the mail is sent after the claim commits
        assert pending_servers_enqueue() >= 1
    server.refresh_from_db()
    assert server.status == "active"
    subjects = [m.subject for m in mail.outbox]
    assert subjects.count(f"Payment received for order {portal_order.number}") == 1
