"""Payment to server through the verify endpoint: the test the incident was missing."""

import time

import pytest
from django.core import mail

from billing.models import Order, Payment
from servers.models import Server


def verify(client, response_body):
    return client.post("/api/v1/payments/verify/", response_body, format="json")


@pytest.mark.django_db
def test_a_captured_payment_gives_a_paid_order_and_one_server(
    api, portal_order, fake_razorpay, django_capture_on_commit_callbacks
):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = verify(api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["order"] == portal_order.number and body["order_status"] == "paid"
    server = Server.objects.get(order=portal_order)
    assert body["server"]["id"] == server.pk
    portal_order.refresh_from_db()
    assert portal_order.status == "paid" and portal_order.invoice_number
    assert Payment.objects.get().status == "captured"
    assert server.status == "active"  # the eager provisioning task ran after commit
    assert [m.subject for m in mail.outbox].count(f"Payment received for order {portal_order.number}") == 1


@pytest.mark.django_db
def test_verifying_twice_gives_the_same_answer_and_still_one_server(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    first = verify(api, fake_razorpay.checkout_response(payment))
    second = verify(api, fake_razorpay.checkout_response(payment))
    assert first.status_code == second.status_code == 200
    assert first.json()["server"]["id"] == second.json()["server"]["id"]
    assert Server.objects.count() == 1 and Payment.objects.count() == 1


@pytest.mark.django_db
def test_an_authorized_payment_is_captured_through_the_sdk(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    response = verify(api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 200
    assert fake_razorpay.payments[payment["id"]]["status"] == "captured"
    assert ("POST", f"/v1/payments/{payment['id']}/capture") in fake_razorpay.requests


@pytest.mark.django_db
def test_a_second_authorization_on_a_paid_order_is_not_captured(api, portal_order, fake_razorpay):
    first = fake_razorpay.pay(portal_order.razorpay_order_id)
    assert verify(api, fake_razorpay.checkout_response(first)).status_code == 200
    second = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")  # another tab

    response = verify(api, fake_razorpay.checkout_response(second))

    assert response.json()["order_status"] == "paid"
    assert ("POST", f"/v1/payments/{second['id']}/capture") not in fake_razorpay.requests
    assert fake_razorpay.payments[second["id"]]["status"] == "authorized"  # Razorpay will release it
    assert Payment.objects.get(razorpay_payment_id=second["id"]).status == "authorized"
    assert Server.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value",
    [
        ("razorpay_signature", "0" * 64),
        ("razorpay_signature", ""),
        ("razorpay_payment_id", "pay_someoneelses"),
    ],
)
def test_a_bad_signature_is_400_and_records_nothing(api, portal_order, fake_razorpay, field, value):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    body = {**fake_razorpay.checkout_response(payment), field: value}
    response = verify(api, body)
    assert response.status_code == 400
    assert response.json()
    portal_order.refresh_from_db()
    assert portal_order.status == "created"
    assert not Payment.objects.exists() and not Server.objects.exists()


@pytest.mark.django_db
def test_another_customers_order_is_404(bob_api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    response = verify(bob_api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 404
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_razorpay_unreachable_answers_202_quickly_and_records_nothing(api, portal_order, fake_razorpay, settings):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    settings.RAZORPAY_API_BASE = "http://127.0.0.1:1"
    started = time.monotonic()
    response = verify(api, fake_razorpay.checkout_response(payment))
    assert time.monotonic() - started < 2
    assert response.status_code == 202
    body = response.json()
    assert body["order_status"] == "created" and body["server"] is None and body["detail"]
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_a_payment_not_yet_captured_answers_202(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="created")
    response = verify(api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 202
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_a_captured_amount_that_differs_flags_the_order_and_never_provisions(
    api, portal_order, fake_razorpay, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAILS = ["ops@example.com"]
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, amount=portal_order.total_paise - 100)
    with django_capture_on_commit_callbacks(execute=True):
        response = verify(api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 202
    portal_order.refresh_from_db()
    assert portal_order.status == "created" and portal_order.needs_attention
    assert "does not match" in portal_order.attention_reason
    assert not Server.objects.exists()
    assert any("ops@example.com" in m.to for m in mail.outbox)


@pytest.mark.django_db
def test_a_captured_currency_that_differs_never_provisions(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, currency="USD")
    verify(api, fake_razorpay.checkout_response(payment))
    portal_order.refresh_from_db()
    assert portal_order.needs_attention and not Server.objects.exists()


@pytest.mark.django_db
def test_the_verify_request_is_unauthenticated_401(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    response = client.post(
        "/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), content_type="application/json"
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_simulated_mode_verifies_through_the_same_endpoint(api, plan, settings):
    from payments.gateways.simulated import simulated_checkout_response

    assert settings.PAYMENTS_SIMULATED
    created = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()
    order = Order.objects.get(number=created["number"])
    response = verify(api, simulated_checkout_response(order))
    assert response.status_code == 200 and response.json()["order_status"] == "paid"
    forged = {**simulated_checkout_response(order), "razorpay_signature": "f" * 64}
    assert verify(api, forged).status_code == 400


@pytest.mark.django_db
def test_an_authorization_for_another_amount_is_refused_by_razorpay_and_answers_202(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(
        portal_order.razorpay_order_id, status="authorized", amount=portal_order.total_paise - 1
    )
    response = verify(api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 202
    assert response.json()["server"] is None
    portal_order.refresh_from_db()
    assert portal_order.status == "created" and not Server.objects.exists()


@pytest.mark.django_db
def test_a_payment_captured_elsewhere_while_verify_captures_still_answers_200(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    # Verify's first fetch still sees "authorized", but the payment was captured a moment
    # later (as by the reconciler), so Razorpay refuses verify's capture with a 400.
    fake_razorpay.payments[payment["id"]]["status"] = "captured"
    fake_razorpay.payments[payment["id"]]["captured"] = True
    fake_razorpay.next_fetch_answers = iter([{**fake_razorpay.payments[payment["id"]], "status": "authorized"}])
    response = verify(api, fake_razorpay.checkout_response(payment))
    assert response.status_code == 200
    assert Server.objects.filter(order=portal_order).count() == 1


@pytest.mark.django_db
def test_a_payment_already_refunded_says_so_instead_of_being_confirmed(api, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    fake_razorpay.payments[payment["id"]]["status"] = "refunded"  # refunded before the page got back

    response = verify(api, fake_razorpay.checkout_response(payment))

    assert response.status_code == 202 and "refunded" in response.json()["detail"]
    assert response.json()["order_status"] == "created" and not Server.objects.exists()
