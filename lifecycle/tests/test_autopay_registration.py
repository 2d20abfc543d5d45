"""Autopay registration (CONTRACT: Autopay): an autopay order or renewal, paid through
the real SDK against the fake Razorpay, makes the server's mandate; token webhooks
move it, early ones are kept; the customer turns it off."""

import pytest

from billing.models import RazorpayCustomer
from lifecycle.autopay.models import AutopayMandate, AutopayTokenReport
from servers.models import Server

from .autopay_world import CONTACT, autopay_order, deliver, mails_with, mandate_of, pay_and_verify
from .conftest import active_server

pytestmark = pytest.mark.django_db


def test_an_autopay_order_makes_the_customer_once_and_a_razorpay_order_with_token_terms(
    api, plan, fake_razorpay, settings
):
    order, body = autopay_order(api, plan)
    assert body["autopay"] is True
    [customer] = fake_razorpay.customers.values()
    assert customer["contact"] == CONTACT and customer["email"] == "alice@example.com"
    assert body["razorpay"]["customer_id"] == customer["id"] and body["razorpay"]["recurring"] == "1"
    at_razorpay = fake_razorpay.orders[order.razorpay_order_id]
    assert at_razorpay["customer_id"] == customer["id"]
    assert at_razorpay["token"]["max_amount"] == settings.AUTOPAY_MAX_PAISE == 1_500_000
    assert at_razorpay["token"]["frequency"] == "as_presented" and at_razorpay["amount"] == order.total_paise

    # The number is remembered: the next autopay order needs none, and the customer is not made again.
    again = api.post("/api/v1/orders/", {"plan": plan.slug, "autopay": True}, format="json")
    assert again.status_code == 201 and again.json()["razorpay"]["customer_id"] == customer["id"]
    assert [path for method, path in fake_razorpay.requests if path == "/v1/customers"] == ["/v1/customers"]
    assert RazorpayCustomer.objects.get().contact == "9876543210"


def test_an_order_without_autopay_says_so_and_carries_no_customer(api, plan, fake_razorpay):
    body = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()
    assert body["autopay"] is False and "customer_id" not in body["razorpay"]
    assert not fake_razorpay.customers


@pytest.mark.parametrize("contact", [None, "12345", "+9198765432100", "98765 4321x"])
def test_autopay_without_a_usable_mobile_number_is_400(api, plan, fake_razorpay, contact):
    body = {"plan": plan.slug, "autopay": True}
    if contact is not None:
        body["contact"] = contact
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400 and "contact" in response.json()
    assert not fake_razorpay.orders


def test_paying_an_autopay_order_registers_the_servers_mandate_pending_then_active(api, client, plan, fake_razorpay):
    order, _ = autopay_order(api, plan)
    response, payment = pay_and_verify(api, fake_razorpay, order)
    assert response.status_code == 200, response.content
    server = Server.objects.get(order=order)
    mandate = mandate_of(server)
    assert (mandate.status, mandate.razorpay_token_id, mandate.max_amount_paise) == (
        "pending",
        payment["token_id"],
        1_500_000,
    )
    assert api.get(f"/api/v1/servers/{server.pk}/").json()["autopay"] == {
        "status": "pending",
        "max_amount_paise": 1_500_000,
        "method": "card",
    }
    # The payment's webhook after verify registers nothing more.
    deliver(client, fake_razorpay, "payment.captured", payment=payment)
    assert AutopayMandate.objects.count() == 1

    token = fake_razorpay.token_update(payment["token_id"], "confirmed")
    deliver(client, fake_razorpay, "token.confirmed", token=token)
    mandate.refresh_from_db()
    assert mandate.status == "active"
    assert [c.to_status for c in mandate.changes.all()] == ["pending", "active"]
    assert api.get("/api/v1/servers/").json()["results"][0]["autopay"]["status"] == "active"


def test_a_token_event_before_the_payments_own_is_kept_and_applied_when_the_payment_arrives(
    api, client, plan, fake_razorpay
):
    order, _ = autopay_order(api, plan)
    payment = fake_razorpay.pay(order.razorpay_order_id)
    token = fake_razorpay.token_update(payment["token_id"], "confirmed")
    deliver(client, fake_razorpay, "token.confirmed", token=token)  # first: no mandate holds the token yet
    assert not AutopayMandate.objects.exists()
    assert AutopayTokenReport.objects.get().status == "confirmed"

    deliver(client, fake_razorpay, "payment.captured", payment=payment)

    mandate = mandate_of(Server.objects.get(order=order))
    assert mandate.status == "active"
    assert AutopayTokenReport.objects.get().applied_at is not None


def test_a_renewal_with_autopay_registers_and_replaces_the_old_mandate_cancelling_it_at_razorpay(
    api, alice, plan, fake_razorpay, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan)
    first = api.post(f"/api/v1/servers/{server.pk}/renew/", {"autopay": True, "contact": CONTACT}, format="json")
    assert first.status_code == 200 and first.json()["autopay"] is True
    from billing.models import Order

    renewal = Order.objects.get(number=first.json()["number"])
    response, payment = pay_and_verify(api, fake_razorpay, renewal)
    assert response.status_code == 200
    old = mandate_of(server)
    assert old.status == "pending" and old.registered_by == renewal

    # The next renewal with autopay again: a new token replaces the old one.
    second = api.post(f"/api/v1/servers/{server.pk}/renew/", {"autopay": True}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        response, payment2 = pay_and_verify(api, fake_razorpay, Order.objects.get(number=second["number"]))
    assert response.status_code == 200
    old.refresh_from_db()
    new = mandate_of(server)
    assert new.razorpay_token_id == payment2["token_id"] and new.status == "pending"
    assert old.status == "cancelled" and old.razorpay_cancelled_at is not None
    assert fake_razorpay.tokens[old.razorpay_token_id]["recurring_details"]["status"] == "cancelled"


def test_a_renewal_without_autopay_replaces_an_unpaid_autopay_one(api, alice, plan, fake_razorpay):
    server = active_server(alice, plan)
    first = api.post(f"/api/v1/servers/{server.pk}/renew/", {"autopay": True, "contact": CONTACT}, format="json")
    plain = api.post(f"/api/v1/servers/{server.pk}/renew/", {}, format="json")
    assert plain.json()["autopay"] is False and plain.json()["number"] != first.json()["number"]


def test_turning_autopay_off_cancels_the_token_at_razorpay_and_says_so(api, client, plan, fake_razorpay):
    order, _ = autopay_order(api, plan)
    _, payment = pay_and_verify(api, fake_razorpay, order)
    server = Server.objects.get(order=order)

    response = api.delete(f"/api/v1/servers/{server.pk}/autopay/")

    assert response.status_code == 200 and response.json()["autopay"]["status"] == "cancelled"
    assert fake_razorpay.tokens[payment["token_id"]]["recurring_details"]["status"] == "cancelled"
    assert ("PUT", f"/v1/customers/{payment['customer_id']}/tokens/{payment['token_id']}/cancel") in (
        fake_razorpay.requests
    )
    assert len(mails_with("autopay-off:")) == 1
    assert api.delete(f"/api/v1/servers/{server.pk}/autopay/").status_code == 409


def test_turning_off_another_customers_autopay_is_404(api, bob_api, plan, fake_razorpay):
    order, _ = autopay_order(api, plan)
    pay_and_verify(api, fake_razorpay, order)
    server = Server.objects.get(order=order)
    assert bob_api.delete(f"/api/v1/servers/{server.pk}/autopay/").status_code == 404
    assert mandate_of(server).status == "pending"


def test_the_bank_cancelling_the_token_ends_the_mandate_and_mails_once(api, client, plan, fake_razorpay):
    order, _ = autopay_order(api, plan)
    _, payment = pay_and_verify(api, fake_razorpay, order)
    deliver(
        client, fake_razorpay, "token.confirmed", token=fake_razorpay.token_update(payment["token_id"], "confirmed")
    )
    cancelled = fake_razorpay.token_update(payment["token_id"], "cancelled")
    deliver(client, fake_razorpay, "token.cancelled", token=cancelled)
    deliver(client, fake_razorpay, "token.cancelled", token=cancelled)  # a second delivery under a new id
    mandate = mandate_of(Server.objects.get(order=order))
    assert mandate.status == "cancelled" and mandate.razorpay_cancelled_at is not None
    assert len(mails_with("autopay-off:")) == 1
    # A late confirmation does not bring it back.
    deliver(
        client, fake_razorpay, "token.confirmed", token=fake_razorpay.token_update(payment["token_id"], "confirmed")
    )
    mandate.refresh_from_db()
    assert mandate.status == "cancelled"


def test_a_rejected_token_is_rejected(api, client, plan, fake_razorpay):
    order, _ = autopay_order(api, plan)
    _, payment = pay_and_verify(api, fake_razorpay, order)
    deliver(client, fake_razorpay, "token.rejected", token=fake_razorpay.token_update(payment["token_id"], "rejected"))
    assert mandate_of(Server.objects.get(order=order)).status == "rejected"
