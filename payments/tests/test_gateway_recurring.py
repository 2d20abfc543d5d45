"""Recurring payments through the real SDK (2.0.1) against the fake Razorpay: the
calls autopay makes, with Razorpay's paths, bodies and answers."""

import pytest

from payments.gateways import GatewayRejected, RecurringTerms
from payments.gateways.razorpay_gateway import RazorpayGateway

CONTACT = "+919876543210"


@pytest.fixture
def gateway(fake_razorpay):
    return RazorpayGateway()


def registered_token(fake_razorpay, gateway, *, max_amount=1_500_000, status="confirmed"):
    customer_id = gateway.customer_create(name="Alice", email="alice@example.com", contact=CONTACT)
    order = gateway.order_create(
        receipt="ORD-AAAAAAAAAA",
        amount_paise=264320,
        currency="INR",
        notes={},
        recurring=RecurringTerms(customer_id=customer_id, max_amount_paise=max_amount, expire_at=2_000_000_000),
    )
    payment = fake_razorpay.pay(order.id)
    fake_razorpay.token_update(payment["token_id"], status)
    return customer_id, payment["token_id"]


def test_a_customer_is_made_once_fail_existing_0_answers_the_same_one(fake_razorpay, gateway):
    first = gateway.customer_create(name="Alice", email="alice@example.com", contact=CONTACT)
    second = gateway.customer_create(name="Alice", email="alice@example.com", contact=CONTACT)
    assert first == second and first.startswith("cust_") and len(fake_razorpay.customers) == 1
    assert ("POST", "/v1/customers") in fake_razorpay.requests


def test_an_order_with_token_terms_registers_a_token_when_paid(fake_razorpay, gateway):
    customer_id, token_id = registered_token(fake_razorpay, gateway, status="initiated")
    token = gateway.token_fetch(customer_id, token_id)
    assert (token.id, token.status, token.max_amount_paise, token.method) == (token_id, "initiated", 1_500_000, "card")


def test_a_debit_answers_ids_and_a_signature_and_waits_for_the_bank(fake_razorpay, gateway):
    customer_id, token_id = registered_token(fake_razorpay, gateway)
    debit_order = gateway.order_create(
        receipt="ORD-BBBBBBBBBB",
        amount_paise=264320,
        currency="INR",
        notes={},
        recurring=RecurringTerms(customer_id=customer_id),
    )
    assert "token" not in fake_razorpay.orders[debit_order.id]
    payment_id = gateway.payment_create_recurring(
        email="alice@example.com",
        contact=CONTACT,
        amount_paise=264320,
        currency="INR",
        order_id=debit_order.id,
        customer_id=customer_id,
        token_id=token_id,
        description="Renewal ORD-BBBBBBBBBB",
        notes={"order": "ORD-BBBBBBBBBB"},
    )
    payment = fake_razorpay.payments[payment_id]
    assert (payment["status"], payment["token_id"], payment["notes"]) == (
        "created",
        token_id,
        {"order": "ORD-BBBBBBBBBB"},
    )
    [listed] = gateway.order_payments(debit_order.id)
    assert listed.id == payment_id and listed.token_id == token_id


@pytest.mark.parametrize("status,amount", [("initiated", 264320), ("confirmed", 1_500_001)])
def test_a_debit_on_an_unconfirmed_token_or_above_its_limit_is_refused(fake_razorpay, gateway, status, amount):
    customer_id, token_id = registered_token(fake_razorpay, gateway, status=status)
    order = gateway.order_create(
        receipt="ORD-CCCCCCCCCC", amount_paise=amount, currency="INR", notes={}, recurring=RecurringTerms(customer_id)
    )
    with pytest.raises(GatewayRejected):
        gateway.payment_create_recurring(
            email="alice@example.com",
            contact=CONTACT,
            amount_paise=amount,
            currency="INR",
            order_id=order.id,
            customer_id=customer_id,
            token_id=token_id,
            description="x",
            notes={},
        )
    assert not [p for p in fake_razorpay.payments.values() if p["order_id"] == order.id]


def test_a_token_is_cancelled_with_a_put(fake_razorpay, gateway):
    customer_id, token_id = registered_token(fake_razorpay, gateway)
    gateway.token_cancel(customer_id, token_id)
    assert ("PUT", f"/v1/customers/{customer_id}/tokens/{token_id}/cancel") in fake_razorpay.requests
    assert gateway.token_fetch(customer_id, token_id).status == "cancelled"
