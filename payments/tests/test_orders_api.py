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


MAHARASHTRA_GSTIN = "27AAGCB7383J1Z8"


def test_the_api_takes_the_billing_state_and_gstin_of_the_invoice_and_remembers_them(api, alice, plan, fake_razorpay):
    response = api.post(
        "/api/v1/orders/",
        {"plan": plan.slug, "billing_name": "Alice Exports", "billing_state": "Maharashtra", "gstin": MAHARASHTRA_GSTIN},
        format="json",
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get(number=response.json()["number"])
    assert (order.buyer_name, order.buyer_state, order.buyer_gstin) == ("Alice Exports", "Maharashtra", MAHARASHTRA_GSTIN)
    alice.refresh_from_db()
    assert (alice.billing_state, alice.gstin) == ("Maharashtra", MAHARASHTRA_GSTIN)


def test_a_gstin_alone_names_the_place_of_supply(api, alice, plan, fake_razorpay):
    alice.billing_state = ""
    alice.save(update_fields=["billing_state"])
    response = api.post("/api/v1/orders/", {"plan": plan.slug, "gstin": MAHARASHTRA_GSTIN}, format="json")
    assert response.status_code == 201, response.json()
    assert Order.objects.get(number=response.json()["number"]).buyer_state == "Maharashtra"


@pytest.mark.parametrize(
    "payload, field, says",
    [
        ({"billing_state": "Narnia"}, "billing_state", "not a valid choice"),
        ({"billing_state": "Karnataka", "gstin": MAHARASHTRA_GSTIN}, "gstin", "registered in Maharashtra"),
        ({"gstin": "27AAGCB7383J1Z9"}, "gstin", "check character does not match"),
        ({"billing_address": "A" * 301}, "billing_address", "no more than 300 characters"),
    ],
)
def test_billing_details_the_checkout_would_refuse_are_a_400_and_create_nothing(
    api, plan, fake_razorpay, payload, field, says
):
    response = api.post("/api/v1/orders/", {"plan": plan.slug, **payload}, format="json")
    assert response.status_code == 400
    assert says in " ".join(response.json()[field])
    assert not Order.objects.exists()


def test_an_order_that_cannot_know_its_place_of_supply_is_refused_rather_than_guessed(api, alice, plan, fake_razorpay):
    """A customer with no state saved was charged CGST + SGST for the seller's state."""
    alice.billing_state, alice.gstin = "", ""
    alice.save(update_fields=["billing_state", "gstin"])
    response = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json")
    assert response.status_code == 400
    assert "Say where the service is supplied" in response.json()["billing_state"][0]
    assert not Order.objects.exists()
