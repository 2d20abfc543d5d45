"""Issue 22, 23 and 28: every staff action goes through security.staff_actions, so
each asks what its kind asks (a retried destroy a fresh code, as Terminate does),
writes its audit row in the service's transaction (the dashboard's requeue wrote it
after the service committed), and the refund form keeps what staff typed."""

import time

import pytest
from django.db import DatabaseError
from django.test import Client
from django_otp.oath import TOTP

from accounts.factories import UserFactory
from billing.models import Refund
from ops.tests.conftest import stuck_server
from payments.tests.test_refunds import verified
from security.factories import verified_staff_login
from security.models import StaffAction
from servers.factories import ServerFactory
from servers.models import Server, ServerOperation

pytestmark = pytest.mark.django_db


def code_now(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.fixture
def boss(settings):
    settings.STAFF_2FA_REQUIRED = True
    user = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.device = verified_staff_login(client, user)
    client.user = user
    return client


def failed_destroy():
    server = ServerFactory(status=Server.Status.ACTIVE)
    return ServerOperation.objects.create(
        server=server, action="destroy", purpose="terminate", status="failed", source="billing", last_error="bad key"
    )


def test_retrying_a_failed_destroy_asks_for_a_fresh_code_as_terminate_does(boss):
    failed = failed_destroy()
    form = {"action": "retry_operations", "_selected_action": [failed.pk]}
    page = boss.post("/admin/servers/serveroperation/", form)
    assert page.status_code == 200 and 'name="otp_code"' in page.text and 'name="reason"' in page.text

    refused = boss.post("/admin/servers/serveroperation/", {**form, "apply": "1", "reason": "Key rotated"})
    assert refused.status_code == 400 and "fresh code" in refused.text
    assert ServerOperation.objects.count() == 1 and not StaffAction.objects.exists()

    done = boss.post(
        "/admin/servers/serveroperation/",
        {**form, "apply": "1", "reason": "Key rotated", "otp_code": code_now(boss.device)},
    )
    assert done.status_code == 302
    retried = ServerOperation.objects.exclude(pk=failed.pk).get()
    assert (retried.action, retried.purpose) == ("destroy", "terminate")
    [audit] = StaffAction.objects.all()
    assert (audit.action, audit.reason, audit.target_id, audit.actor) == (
        "servers.terminate_server", "Key rotated", str(failed.server_id), boss.user
    )  # fmt: skip
    assert audit.details["action"] == "retry"


def test_the_dashboards_requeue_and_its_audit_row_commit_together(staff, monkeypatch):
    # When the audit row cannot be written, the requeue must not stay done without its record.
    server = stuck_server()
    client = Client(raise_request_exception=False)
    client.force_login(staff)

    def audit_fails(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(StaffAction.objects, "create", audit_fails)
    response = client.post(f"/admin/orphaned-orders/servers/{server.pk}/retry/")
    assert response.status_code == 500
    server.refresh_from_db()
    assert server.status == "failed", "the server was requeued with no audit record of who did it"


@pytest.fixture
def paid_order(api, portal_order, fake_razorpay):
    verified(api, portal_order, fake_razorpay)
    return portal_order


@pytest.mark.parametrize(
    "typed,error",
    [
        ("-5000", "Type the amount in rupees as digits with at most two decimals, like 500 or 500.50 (you typed '-5000')."),
        ("abc", "Type the amount in rupees as digits with at most two decimals, like 500 or 500.50 (you typed 'abc')."),
        ("500.505", "Type the amount in rupees as digits with at most two decimals, like 500 or 500.50 (you typed '500.505')."),
        ("0", "Type an amount above ₹0.00 (you typed '0')."),
        ("999999", "has ₹2,643.20 left to refund; ₹9,99,999.00 asked."),
    ],
)  # fmt: skip
def test_a_refused_refund_shows_the_form_again_with_the_error_beside_the_amount_and_what_was_typed(
    boss, paid_order, fake_razorpay, typed, error
):
    form = {
        "action": "refund_orders",
        "_selected_action": [paid_order.pk],
        "apply": "1",
        "amount": typed,
        "reason": "Goodwill, typed once",
    }
    page = boss.post("/admin/billing/order/", {**form, "otp_code": code_now(boss.device)})
    assert page.status_code == 400
    assert f'value="{typed}"' in page.text and "Goodwill, typed once</textarea>" in page.text
    [beside] = page.context["form"].errors["amount"]
    assert error in beside
    assert 'id="id_amount_error"' in page.text
    assert "and for one order only" not in page.text
    assert not Refund.objects.exists() and not fake_razorpay.refunds


def test_a_refund_without_a_reason_keeps_the_amount(boss, paid_order, fake_razorpay):
    form = {"action": "refund_orders", "_selected_action": [paid_order.pk], "apply": "1", "amount": "12.50"}
    page = boss.post("/admin/billing/order/", {**form, "reason": " "})
    assert page.status_code == 400 and 'value="12.50"' in page.text and "A reason is required" in page.text
    assert not Refund.objects.exists()


def test_everything_that_is_left_is_a_tick_box_on_the_refund_form(boss, paid_order, fake_razorpay):
    form = {"action": "refund_orders", "_selected_action": [paid_order.pk]}
    page = boss.post("/admin/billing/order/", form)
    assert 'type="checkbox" name="everything"' in page.text
    boss.post(
        "/admin/billing/order/",
        {**form, "apply": "1", "everything": "on", "reason": "Cancelled", "otp_code": code_now(boss.device)},
    )
    assert Refund.objects.get().amount_paise == paid_order.total_paise
