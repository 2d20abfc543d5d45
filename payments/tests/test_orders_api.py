import pytest

from billing.models import Order


@pytest.mark.django_db
def test_creating_an_order_prices_it_and_opens_a_razorpay_order(api, plan, fake_razorpay):
    response = api.post("/api/v1/orders/", {"plan": "g-8gb", "billing_cycle_months": 1}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "created" and body["plan"] == "g-8gb" and body["billing_cycle_months"] == 1
    assert (body["subtotal_paise"], body["tax_paise"], body["total_paise"]) == (224000, 40320, 264320)
    assert body["currency"] == "INR"
    assert body["razorpay"]["amount"] == 264320 and body["razorpay"]["key_id"] == fake_razorpay.key_id
    rzp = fake_razorpay.orders[body["razorpay"]["order_id"]]
    assert (rzp["amount"], rzp["receipt"]) == (264320, body["number"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"plan": "no-such-plan", "billing_cycle_months": 1},
        {"plan": "g-8gb", "billing_cycle_months": 2},
        {"plan": "g-8gb", "billing_cycle_months": "twelve"},
        {},
    ],
)
def test_bad_order_input_is_a_400_and_creates_nothing(api, plan, fake_razorpay, payload):
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 400
    assert Order.objects.count() == 0 and not fake_razorpay.orders


@pytest.mark.django_db
def test_an_inactive_plan_cannot_be_ordered(api, plan, fake_razorpay):
    plan.is_active = False
    plan.save()
    assert api.post("/api/v1/orders/", {"plan": "g-8gb"}, format="json").status_code == 400


@pytest.mark.django_db
def test_razorpay_down_gives_a_clear_503_and_a_retryable_order(api, plan, fake_razorpay):
    fake_razorpay.fail_next = 1
    response = api.post("/api/v1/orders/", {"plan": "g-8gb"}, format="json")
    assert response.status_code == 503
    assert "try again" in response.json()["detail"]
    order = Order.objects.get()
    assert order.status == "created" and order.razorpay_order_id is None


@pytest.mark.django_db
def test_orders_list_and_detail_show_only_the_callers_orders(api, bob_api, portal_order):
    assert api.get("/api/v1/orders/").json()["count"] == 1
    assert bob_api.get("/api/v1/orders/").json()["count"] == 0
    assert api.get(f"/api/v1/orders/{portal_order.number}/").json()["server"] is None
    assert bob_api.get(f"/api/v1/orders/{portal_order.number}/").status_code == 404


@pytest.mark.django_db
def test_anonymous_order_creation_is_401(client, plan):
    assert client.post("/api/v1/orders/", {"plan": "g-8gb"}, content_type="application/json").status_code == 401
