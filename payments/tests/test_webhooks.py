import json

import pytest
from django.core import mail
from django.db import connection

from billing.models import Order, Payment, WebhookEvent
from payments.tests.conftest import post_webhook
from payments.webhooks import webhook_events_retry
from servers.models import Server


@pytest.mark.django_db
def test_payment_captured_webhook_alone_gives_the_server(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    response = post_webhook(client, *fake_razorpay.webhook("payment.captured", payment))
    assert response.status_code == 200
    portal_order.refresh_from_db()
    assert portal_order.status == "paid"
    assert Server.objects.filter(order=portal_order).count() == 1
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.django_db
def test_verify_then_webhook_then_order_paid_give_one_payment_one_server_one_email(
    api, client, portal_order, fake_razorpay, django_capture_on_commit_callbacks
):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json").status_code
            == 200
        )
        assert post_webhook(client, *fake_razorpay.webhook("payment.captured", payment)).status_code == 200
        assert post_webhook(client, *fake_razorpay.webhook("order.paid", payment)).status_code == 200
    assert Payment.objects.count() == 1 and Server.objects.count() == 1
    assert sum(1 for m in mail.outbox if m.subject.startswith("Payment received")) == 1


@pytest.mark.django_db
def test_a_duplicate_event_id_is_200_and_processed_once(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    body, headers = fake_razorpay.webhook("payment.captured", payment, event_id="evt_same")
    assert post_webhook(client, body, headers).json()["result"] == "paid"
    again = post_webhook(client, body, headers)
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert WebhookEvent.objects.count() == 1 and Server.objects.count() == 1


@pytest.mark.django_db
def test_a_tampered_body_is_400_and_nothing_is_stored(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    body, headers = fake_razorpay.webhook("payment.captured", payment)
    tampered = body.replace(str(payment["amount"]).encode(), b"100", 1)
    assert post_webhook(client, tampered, headers).status_code == 400
    assert not WebhookEvent.objects.exists() and not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["HTTP_X_RAZORPAY_SIGNATURE", "HTTP_X_RAZORPAY_EVENT_ID"])
def test_missing_headers_are_400(client, portal_order, fake_razorpay, missing):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    body, headers = fake_razorpay.webhook("payment.captured", payment)
    del headers[missing]
    response = post_webhook(client, body, headers)
    assert response.status_code == 400 and "Missing" in response.json()["detail"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_signed_body_that_is_not_an_event_is_400(client, fake_razorpay):
    from payments.tests.fake_razorpay import sign

    body = json.dumps({"hello": "world"})
    response = post_webhook(
        client,
        body.encode(),
        {"HTTP_X_RAZORPAY_SIGNATURE": sign(body, fake_razorpay.webhook_secret), "HTTP_X_RAZORPAY_EVENT_ID": "evt_x"},
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


PAYMENT = {"id": "pay_1", "status": "captured", "amount": 264320, "currency": "INR", "order_id": "order_1"}
MALFORMED_EVENTS = {
    "payment is a string": {"event": "payment.captured", "payload": {"payment": "x"}},
    "entity is a list": {"event": "payment.captured", "payload": {"payment": {"entity": [1]}}},
    "no payment": {"event": "order.paid", "payload": {}},
    "amount is text": {"event": "payment.captured", "payload": {"payment": {"entity": {**PAYMENT, "amount": "9"}}}},
    "amount is a bool": {"event": "payment.failed", "payload": {"payment": {"entity": {**PAYMENT, "amount": True}}}},
    "no id": {"event": "payment.captured", "payload": {"payment": {"entity": {**PAYMENT, "id": ""}}}},
    "order id not text": {"event": "payment.captured", "payload": {"payment": {"entity": {**PAYMENT, "order_id": 7}}}},
    "id too long": {"event": "payment.captured", "payload": {"payment": {"entity": {**PAYMENT, "id": "p" * 65}}}},
    "refund without amount": {"event": "refund.processed", "payload": {"refund": {"entity": {"id": "rfnd_1"}}}},
    "event name too long": {"event": "x" * 61, "payload": {}},
    "empty event name": {"event": "", "payload": {}},
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", MALFORMED_EVENTS)
def test_a_signed_event_of_the_wrong_shape_is_400_and_nothing_is_stored(client, fake_razorpay, portal_order, case):
    from payments.tests.fake_razorpay import sign

    body = json.dumps(MALFORMED_EVENTS[case])
    response = post_webhook(
        client,
        body.encode(),
        {"HTTP_X_RAZORPAY_SIGNATURE": sign(body, fake_razorpay.webhook_secret), "HTTP_X_RAZORPAY_EVENT_ID": "evt_x"},
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert not WebhookEvent.objects.exists() and not Payment.objects.exists()


@pytest.mark.django_db
def test_an_ignored_event_type_is_stored_and_200(client, fake_razorpay, portal_order):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, status="authorized")
    response = post_webhook(client, *fake_razorpay.webhook("payment.authorized", payment))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "ignored"
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_a_failed_payment_is_recorded_and_a_late_capture_still_provisions(client, portal_order, fake_razorpay):
    failed = fake_razorpay.pay(portal_order.razorpay_order_id, status="failed")
    post_webhook(client, *fake_razorpay.webhook("payment.failed", failed))
    portal_order.refresh_from_db()
    assert portal_order.status == "created"
    assert portal_order.payment_metadata["last_failure"]["payment_id"] == failed["id"]
    captured = fake_razorpay.pay(portal_order.razorpay_order_id)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", captured))
    portal_order.refresh_from_db()
    assert portal_order.status == "paid" and Server.objects.filter(order=portal_order).exists()


@pytest.mark.django_db
def test_a_failed_event_arriving_after_the_capture_changes_nothing(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", payment))
    late_failure = {**payment, "status": "failed", "error_description": "late"}
    post_webhook(client, *fake_razorpay.webhook("payment.failed", late_failure))
    assert Payment.objects.get().status == "captured"
    portal_order.refresh_from_db()
    assert portal_order.status == "paid"


@pytest.mark.django_db
def test_a_mismatched_capture_by_webhook_flags_the_order(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id, amount=100)
    assert post_webhook(client, *fake_razorpay.webhook("payment.captured", payment)).status_code == 200
    portal_order.refresh_from_db()
    assert portal_order.needs_attention and portal_order.status == "created"
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_refund_processed_marks_the_order_refunded(client, portal_order, fake_razorpay):
    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", payment))
    refund = {"id": "rfnd_abc", "payment_id": payment["id"], "amount": payment["amount"], "status": "processed"}
    assert post_webhook(client, *fake_razorpay.webhook("refund.processed", refund=refund)).status_code == 200
    portal_order.refresh_from_db()
    assert portal_order.status == "refunded"
    assert Payment.objects.get().status == "refunded"


@pytest.mark.django_db
def test_refunding_a_duplicate_payment_leaves_the_order_paid(client, portal_order, fake_razorpay):
    first = fake_razorpay.pay(portal_order.razorpay_order_id)
    second = fake_razorpay.pay(portal_order.razorpay_order_id)  # the customer paid twice
    for payment in (first, second):
        post_webhook(client, *fake_razorpay.webhook("payment.captured", payment))
    portal_order.refresh_from_db()
    assert portal_order.needs_attention and "refund it" in portal_order.attention_reason

    def refund(refund_id, payment, amount):
        entity = {"id": refund_id, "payment_id": payment["id"], "amount": amount, "status": "processed"}
        return post_webhook(client, *fake_razorpay.webhook("refund.processed", refund=entity))

    assert refund("rfnd_dup", second, second["amount"]).status_code == 200
    portal_order.refresh_from_db()
    assert portal_order.status == "paid"  # still paid by the first payment; its server stays
    assert Payment.objects.get(razorpay_payment_id=second["id"]).status == "refunded"

    assert refund("rfnd_part", first, 1000).status_code == 200  # partial: recorded, order stays paid
    portal_order.refresh_from_db()
    assert portal_order.status == "paid"
    assert refund("rfnd_rest", first, first["amount"] - 1000).status_code == 200
    portal_order.refresh_from_db()
    assert portal_order.status == "refunded"
    assert Payment.objects.get(razorpay_payment_id=first["id"]).status == "refunded"


@pytest.mark.django_db
def test_an_event_for_an_unknown_order_is_stored_and_ignored(client, fake_razorpay, portal_order):
    payment = {**fake_razorpay.pay(portal_order.razorpay_order_id), "order_id": "order_notours"}
    assert post_webhook(client, *fake_razorpay.webhook("payment.captured", payment)).status_code == 200
    assert WebhookEvent.objects.get().status == "ignored"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_event_that_fails_to_process_is_kept_and_retried(client, portal_order, fake_razorpay):
    from conftest import transaction_held_open

    payment = fake_razorpay.pay(portal_order.razorpay_order_id)
    body, headers = fake_razorpay.webhook("payment.captured", payment)
    # Processing fails for a reason outside the event: the order row stays locked
    # longer than the database lets this request wait.
    with transaction_held_open(lambda: Order.objects.select_for_update().get(pk=portal_order.pk)):
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            assert post_webhook(client, body, headers).status_code == 200
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    event = WebhookEvent.objects.get()
    assert event.status == "failed" and "lock timeout" in event.error
    assert Order.objects.get().status == "created" and not Payment.objects.exists()
    # The periodic retry then processes the stored delivery.
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=event.received_at.replace(year=2000))
    assert webhook_events_retry() == 1
    event.refresh_from_db()
    assert event.status == "processed" and event.attempts == 2
    assert Order.objects.get().status == "paid"


@pytest.mark.django_db
def test_every_extra_captured_payment_flags_the_order_again_even_after_staff_handled_it(
    client, portal_order, fake_razorpay, staff
):
    first = fake_razorpay.pay(portal_order.razorpay_order_id)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", first))
    second = fake_razorpay.pay(portal_order.razorpay_order_id)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", second))
    post_webhook(client, *fake_razorpay.webhook("order.paid", second))  # same payment again: no new flag
    portal_order.refresh_from_db()
    assert portal_order.needs_attention and second["id"] in portal_order.attention_reason
    assert portal_order.events.filter(kind="flagged").count() == 1
    Order.objects.filter(pk=portal_order.pk).update(handled_at=portal_order.updated_at, handled_by=staff)
    third = fake_razorpay.pay(portal_order.razorpay_order_id)
    post_webhook(client, *fake_razorpay.webhook("payment.captured", third))
    portal_order.refresh_from_db()
    assert portal_order.handled_at is None and third["id"] in portal_order.attention_reason
    assert portal_order.events.filter(kind="flagged").count() == 2
    assert Server.objects.filter(order=portal_order).count() == 1
