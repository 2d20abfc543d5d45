"""Helpers for autopay tests: autopay orders through the API, paid at the fake Razorpay."""

from billing.models import Order
from lifecycle.autopay.models import AutopayMandate
from outbox.models import OutboundMail
from payments.tests.conftest import post_webhook

CONTACT = "+919876543210"


def autopay_order(api, plan, **extra):
    body = {"plan": plan.slug, "billing_cycle_months": 1, "autopay": True, "contact": CONTACT, **extra}
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"]), response.json()


def pay_and_verify(api, fake_razorpay, order, **pay):
    payment = fake_razorpay.pay(order.razorpay_order_id, **pay)
    response = api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
    return response, payment


def deliver(client, fake_razorpay, event_type, **entities):
    body, headers = fake_razorpay.webhook(event_type, **entities)
    response = post_webhook(client, body, headers)
    assert response.status_code == 200, response.content
    return response


def mandate_of(server) -> AutopayMandate | None:
    return AutopayMandate.objects.filter(server=server).first()


def mails_with(prefix):
    return list(OutboundMail.objects.filter(cause_key__startswith=prefix))


def confirmed_mandate(client, fake_razorpay, mandate):
    token = fake_razorpay.token_update(mandate.razorpay_token_id, "confirmed")
    deliver(client, fake_razorpay, "token.confirmed", token=token)
    mandate.refresh_from_db()
    assert mandate.status == "active"
    return mandate
