import pytest
from rest_framework.test import APIClient

from affiliates.models import Referral


@pytest.fixture
def carol(db, alice):
    """A customer alice referred."""
    from accounts.factories import UserFactory

    carol = UserFactory(email="carol@example.com")
    Referral.objects.create(referred=carol, referrer=alice, code=alice.referral_code)
    return carol


def api_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def paid_order(user, plan, fake_razorpay, months=1):
    """An order created and paid through the API and verify, with the real SDK against the fake."""
    from billing.models import Order

    client = api_client(user)
    answer = client.post("/api/v1/orders/", {"plan": plan.slug, "billing_cycle_months": months}, format="json")
    assert answer.status_code == 201, answer.content
    order = Order.objects.get(number=answer.json()["number"])
    payment = fake_razorpay.pay(order.razorpay_order_id)
    verified = client.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
    assert verified.status_code == 200, verified.content
    order.refresh_from_db()
    return order
