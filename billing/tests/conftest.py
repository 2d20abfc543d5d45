import pytest


@pytest.fixture
def portal_order(api, plan, fake_razorpay):
    """An order created through the API, with its Razorpay order at the fake."""
    from billing.models import Order

    response = api.post("/api/v1/orders/", {"plan": plan.slug, "billing_cycle_months": 1}, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def post_webhook(client, body, headers):
    return client.post("/webhooks/razorpay/", data=body, content_type="application/json", **headers)
