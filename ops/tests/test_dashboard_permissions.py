"""The dashboard's actions each need their own permission, a fresh second factor where
they move machines, and leave who, when, from where and why in the staff audit."""

import time

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_otp.oath import TOTP

from accounts.factories import UserFactory
from billing.factories import OrderFactory
from security.factories import verified_staff_login
from security.models import StaffAction
from servers.models import Server

from .conftest import stuck_server, underpaid_order

URL = "/admin/orphaned-orders/"
pytestmark = pytest.mark.django_db


def clerk_with(*codenames):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(clerk)
    return clerk, client


def test_recovery_and_requeue_need_servers_requeue_server_not_change_order(orphan):
    _, client = clerk_with("view_order", "change_order")
    assert client.post(URL + "recover/", {"order": orphan.number}).status_code == 403
    server = stuck_server(status="failed")
    assert client.post(f"{URL}servers/{server.pk}/retry/").status_code == 403
    assert not Server.objects.filter(order=orphan).exists()
    assert "Recover" not in client.get(URL).text


def test_recovery_is_audited_with_who_and_from_where(orphan, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    clerk, client = clerk_with("requeue_server")
    response = client.post(URL + "recover/", {"order": orphan.number}, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 302 and Server.objects.filter(order=orphan).exists()
    record = StaffAction.objects.get()
    assert (record.actor, record.action, record.via, record.ip_address) == (
        clerk,
        "servers.requeue_server",
        "dashboard",
        "203.0.113.9",
    )
    assert record.details["created"][0]["order"] == orphan.number


def code_now(device, steps_ahead=0):
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def test_with_staff_2fa_a_recovery_run_needs_a_fresh_code(orphan, staff, settings):
    settings.STAFF_2FA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a refused replay would otherwise delay the next code
    client = Client()
    device = verified_staff_login(client, staff)
    assert 'name="otp_code"' in client.get(URL).text
    refused = client.post(URL + "recover/", {"order": orphan.number}, follow=True)
    assert "type a fresh code" in refused.text and not Server.objects.filter(order=orphan).exists()
    client.post(URL + "recover/", {"order": orphan.number, "otp_code": code_now(device)})
    assert Server.objects.filter(order=orphan).exists()

    server = stuck_server(status="failed")
    replay = client.post(f"{URL}servers/{server.pk}/retry/", {"otp_code": code_now(device)})
    assert replay.status_code == 302
    server.refresh_from_db()
    assert server.status == "failed"  # the same code twice is refused
    client.post(f"{URL}servers/{server.pk}/retry/", {"otp_code": code_now(device, steps_ahead=1)})
    server.refresh_from_db()
    assert server.status != "failed"
    assert StaffAction.objects.filter(action="servers.requeue_server").count() == 2


def test_mark_handled_needs_billing_mark_order_handled_and_is_audited(bob):
    flagged = OrderFactory(user=bob, needs_attention=True, attention_reason="captured too little")
    _, client = clerk_with("view_order", "change_order")
    assert client.post(f"{URL}orders/{flagged.number}/handled/", {"reason": "called Razorpay"}).status_code == 403
    clerk, client = clerk_with("mark_order_handled")
    client.post(f"{URL}orders/{flagged.number}/handled/", {"reason": "called Razorpay"})
    flagged.refresh_from_db()
    assert flagged.handled_by == clerk
    record = StaffAction.objects.get()
    assert (record.action, record.target_label, record.reason) == (
        "billing.mark_order_handled",
        str(flagged),
        "called Razorpay",
    )


def test_with_staff_2fa_a_dashboard_refund_needs_a_fresh_code_and_is_audited(
    staff, alice, plan, fake_razorpay, client, settings
):
    order, payment = underpaid_order(alice, plan, fake_razorpay, client)

    settings.STAFF_2FA_REQUIRED = True
    browser = Client()
    device = verified_staff_login(browser, staff)
    url = f"{URL}payments/{payment['id']}/refund/"
    assert 'name="otp_code"' in browser.get(url).text
    browser.post(url, {"reason": "Wrong amount captured"})
    assert not fake_razorpay.refunds
    browser.post(url, {"reason": "Wrong amount captured", "otp_code": code_now(device)})
    assert len(fake_razorpay.refunds) == 1
    record = StaffAction.objects.get()
    assert (record.action, record.actor, record.target_label, record.reason) == (
        "billing.refund_order",
        staff,
        str(order),
        "Wrong amount captured",
    )
