"""One capture per order: verify and reconcile decide to capture under the
order's row lock, and never capture a second payment of an order that another
payment has paid or is being captured for (issue 13's first two defects)."""

import pytest
from rest_framework.test import APIClient

from billing.models import Order, Payment
from conftest import in_threads
from payments.reconcile import payments_reconcile


def captured_at_razorpay(fake, order):
    return [
        p["id"]
        for p in fake.payments.values()
        if p["order_id"] == order.razorpay_order_id and p["status"] == "captured"
    ]


@pytest.mark.django_db
def test_reconcile_captures_only_one_of_two_authorized_payments(portal_order, fake_razorpay):
    first = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")  # a second tab

    payments_reconcile()

    assert captured_at_razorpay(fake_razorpay, portal_order) == [first["id"]]
    portal_order.refresh_from_db()
    assert portal_order.status == "paid"
    assert portal_order.payment_metadata["captured_payment_id"] == first["id"]
    assert not portal_order.needs_attention  # nothing extra was captured, so nothing to refund


@pytest.mark.django_db
def test_reconcile_does_not_capture_while_another_payment_is_being_captured(portal_order, fake_razorpay):
    from payments.services import capture_claim

    first = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    assert capture_claim(portal_order.razorpay_order_id, first["id"]) == "claimed"  # verify is capturing it
    second = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")

    payments_reconcile()

    assert fake_razorpay.payments[second["id"]]["status"] == "authorized"


@pytest.mark.django_db
def test_an_extra_payment_captured_at_razorpay_is_flagged_for_a_refund(portal_order, fake_razorpay):
    first = fake_razorpay.pay(portal_order.razorpay_order_id)
    second = fake_razorpay.pay(portal_order.razorpay_order_id)  # both captured by Razorpay itself

    payments_reconcile()

    portal_order.refresh_from_db()
    assert portal_order.status == "paid" and portal_order.payment_metadata["captured_payment_id"] == first["id"]
    assert portal_order.needs_attention and second["id"] in portal_order.attention_reason
    assert portal_order.payment_metadata["flagged_payment_ids"] == [second["id"]]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_tabs_verifying_two_authorizations_at_once_capture_only_one(alice, plan, fake_razorpay):
    api = APIClient()
    api.force_authenticate(alice)
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    payments = [fake_razorpay.pay(order.razorpay_order_id, status="authorized") for _ in range(2)]
    fake_razorpay.delay_seconds = 0.3  # both tabs read the order before either capture returns

    def verify(payment):
        def call():
            client = APIClient()
            client.force_authenticate(alice)
            return client.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")

        return call

    results, errors = in_threads([verify(p) for p in payments])
    assert not errors, errors
    assert len(captured_at_razorpay(fake_razorpay, order)) == 1
    order.refresh_from_db()
    assert order.status == "paid" and not order.needs_attention
    assert Payment.objects.filter(order=order, status="captured").count() == 1
    assert sorted(r.status_code for r in results) == [200, 202]
