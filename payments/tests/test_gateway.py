"""The Razorpay gateway, through the real SDK against the local fake server."""

import time

import pytest

from payments.gateways import GatewayMismatch, GatewayRejected, GatewayUnavailable
from payments.gateways.razorpay_gateway import RazorpayGateway, razorpay_client


def test_order_create_sends_amount_receipt_and_notes(fake_razorpay):
    order = RazorpayGateway().order_create(
        receipt="ORD-ABCDEFGHIJ", amount_paise=264320, currency="INR", notes={"order_number": "ORD-ABCDEFGHIJ"}
    )
    stored = fake_razorpay.orders[order.id]
    assert (stored["amount"], stored["currency"], stored["receipt"]) == (264320, "INR", "ORD-ABCDEFGHIJ")
    assert stored["notes"] == {"order_number": "ORD-ABCDEFGHIJ"}


def test_an_order_echoed_with_another_amount_is_refused(fake_razorpay):
    fake_razorpay.echo_amount_delta = 1
    with pytest.raises(GatewayMismatch):
        RazorpayGateway().order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=1000, currency="INR", notes={})


def test_a_slow_razorpay_times_out_instead_of_hanging(fake_razorpay, settings):
    settings.RAZORPAY_TIMEOUT_SECONDS = 0.3
    fake_razorpay.delay_seconds = 2
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        RazorpayGateway().order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=1000, currency="INR", notes={})
    assert time.monotonic() - started < 1.5


def test_a_server_error_is_unavailable_and_not_retried_by_the_sdk(fake_razorpay):
    fake_razorpay.fail_next = 1
    with pytest.raises(GatewayUnavailable):
        RazorpayGateway().order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=1000, currency="INR", notes={})
    assert len(fake_razorpay.requests) == 1


def test_unreachable_razorpay_is_unavailable(settings, fake_razorpay):
    settings.RAZORPAY_API_BASE = "http://127.0.0.1:1"
    with pytest.raises(GatewayUnavailable):
        RazorpayGateway().payment_fetch("pay_missing")


def test_wrong_keys_are_rejected(fake_razorpay, settings):
    settings.RAZORPAY_KEY_SECRET = "wrong"
    with pytest.raises(GatewayRejected):
        RazorpayGateway().order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=1000, currency="INR", notes={})


def test_authorized_payment_is_captured(fake_razorpay):
    order = RazorpayGateway().order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=5000, currency="INR", notes={})
    payment = fake_razorpay.pay(order.id, status="authorized")
    captured = RazorpayGateway().payment_capture(payment["id"], 5000, "INR")
    assert captured.status == "captured"


def test_calls_reuse_one_connection_and_survive_razorpay_closing_it(fake_razorpay):
    gateway = RazorpayGateway()
    order = gateway.order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=5000, currency="INR", notes={})
    payment = fake_razorpay.pay(order.id)
    assert gateway.payment_fetch(payment["id"]).status == "captured"
    assert len(fake_razorpay.connections) == 1, "the second call did not reuse the first call's connection"
    fake_razorpay.drop_connections()  # Razorpay closes an idle kept-alive connection
    assert gateway.payment_fetch(payment["id"]).status == "captured"


def test_proxy_settings_come_from_the_environment(fake_razorpay, settings, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    settings.RAZORPAY_API_BASE = "https://api.razorpay.example"  # a new client, built with this environment
    assert razorpay_client().session.proxies.get("https") == "http://proxy.internal:3128"
    monkeypatch.setenv("NO_PROXY", "api.razorpay.example")
    settings.RAZORPAY_KEY_ID = "rzp_test_other"
    assert "https" not in razorpay_client().session.proxies


def test_a_forked_process_starts_without_its_parents_connections(fake_razorpay):
    import os

    parent_client = razorpay_client()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got a client of its own, then leave at once
        os.write(write_end, b"new" if razorpay_client() is not parent_client else b"shared")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read_end, 10) == b"new"
    assert razorpay_client() is parent_client
