"""Concurrent deliveries of one payment, on PostgreSQL with real row locks."""

import pytest
from django.test import Client

from affiliates.models import Commission
from billing.models import Order
from conftest import in_threads
from payments.tests.conftest import post_webhook

from .conftest import api_client


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_verify_and_webhooks_of_one_payment_at_once_give_one_commission(alice, carol, plan, fake_razorpay):
    number = api_client(carol).post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    payment = fake_razorpay.pay(order.razorpay_order_id)
    checkout = fake_razorpay.checkout_response(payment)

    def verify():
        return api_client(carol).post("/api/v1/payments/verify/", checkout, format="json").status_code

    def webhook(kind):
        return lambda: post_webhook(Client(), *fake_razorpay.webhook(kind, payment)).status_code

    results, errors = in_threads([verify] * 4 + [webhook("payment.captured")] * 2 + [webhook("order.paid")] * 2)
    assert not errors, errors
    assert results == [200] * 8
    commission = Commission.objects.get(order=order)
    assert commission.affiliate == alice and commission.amount_paise == 22400
