"""A broker that accepts connections and never answers (Redis under SIGSTOP) holds no
request for long (issue 18: /healthz answered 500 after 30 s, verify 500 after 31 s)."""

import time

import pytest
from django.core import mail

from conftest import celery_configure, hard_deadline, silent_server
from hostingportal.celery import app as celery_app
from servers.models import Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_broker():
    with silent_server() as port:
        yield f"redis://127.0.0.1:{port}/0"


def test_healthz_answers_degraded_within_2_s_when_the_broker_never_answers(client, settings, frozen_broker):
    settings.CELERY_BROKER_URL = frozen_broker
    started = time.monotonic()
    with hard_deadline(10):
        response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"/healthz took {elapsed:.2f} s"
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False and body["checks"]["database"]["ok"] is True


def test_healthz_keeps_answering_while_earlier_probes_are_still_stuck(client, settings, frozen_broker):
    settings.CELERY_BROKER_URL = frozen_broker
    with hard_deadline(20):
        for _ in range(4):
            started = time.monotonic()
            response = client.get("/healthz")
            assert time.monotonic() - started < 2
            assert response.status_code == 200 and response.json()["status"] == "degraded"


def test_a_verify_with_the_broker_frozen_is_paid_in_seconds_and_left_to_the_sweeper(
    api, portal_order, fake_razorpay, frozen_broker, django_capture_on_commit_callbacks
):
    original = celery_app.conf.broker_url
    celery_configure(task_always_eager=False, broker_url=frozen_broker)
    try:
        payment = fake_razorpay.pay(portal_order.razorpay_order_id)
        started = time.monotonic()
        with hard_deadline(15), django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
        elapsed = time.monotonic() - started
    finally:
        celery_configure(task_always_eager=True, broker_url=original)
    assert response.status_code == 200, response.content
    assert elapsed < 5, f"verify took {elapsed:.2f} s with the broker frozen"
    server = Server.objects.get(order=portal_order)
    assert server.status == "pending" and server.queued_at is None, "the publish timed out: the sweeper's turn"
    assert not mail.outbox
