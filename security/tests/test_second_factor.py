"""Staff TOTP (django-otp): enrolment with a QR code and the secret, the check before any
/admin/ page, wrong and replayed codes refused, recovery codes once, `staff_totp`."""

import base64
import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.factories import DEFAULT_PASSWORD
from security.factories import verified_staff_login
from security.models import StaffAction
from security.second_factor import second_factor_fresh, totp_device_replace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.STAFF_2FA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # throttling has its own test


def code_for(device, step_offset=0):
    """The code the phone shows now (or `step_offset` 30-second steps later)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + step_offset * device.step
    return f"{totp.token():06d}"


def staff_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_staff_without_a_device_are_taken_to_enrol_before_any_admin_page(staff):
    client = staff_client(staff)
    for path in ["/admin/", "/admin/billing/order/", "/admin/orphaned-orders/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/2fa/setup/?next=")


def test_enrolment_shows_a_qr_code_and_the_secret_then_gives_recovery_codes_once(staff):
    client = staff_client(staff)
    page = client.get("/accounts/2fa/setup/?next=/admin/")
    assert page.status_code == 200 and "<svg" in page.text
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    assert secret in page.text and "otpauth://totp/" in page.text
    assert client.get("/accounts/2fa/setup/").context["secret"] == secret  # a reload keeps the secret

    wrong = client.post("/accounts/2fa/setup/", {"otp_code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed and client.get("/admin/").status_code == 302

    done = client.post("/accounts/2fa/setup/", {"otp_code": code_for(device), "next": "/admin/"})
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.text for code in codes)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    assert not any(code in client.get("/accounts/2fa/").text for code in codes)


@pytest.fixture
def enrolled(staff):
    device = totp_device_replace(staff)
    return staff, device


def test_a_new_session_must_pass_the_check_and_a_wrong_code_is_refused(enrolled):
    staff, device = enrolled
    client = staff_client(staff)
    response = client.get("/admin/billing/order/")
    assert response.status_code == 302 and response.url == "/accounts/2fa/?next=/admin/billing/order/"
    wrong = client.post("/accounts/2fa/", {"otp_code": "12345x", "next": "/admin/billing/order/"})
    assert wrong.status_code == 400 and client.get("/admin/").status_code == 302
    ok = client.post("/accounts/2fa/", {"otp_code": code_for(device), "next": "/admin/billing/order/"})
    assert ok.status_code == 302 and ok.url == "/admin/billing/order/"
    assert client.get("/admin/billing/order/").status_code == 200


def test_a_used_code_cannot_be_replayed(enrolled):
    staff, device = enrolled
    code = code_for(device)
    assert staff_client(staff).post("/accounts/2fa/", {"otp_code": code}).status_code == 302
    eavesdropper = staff_client(staff)
    assert eavesdropper.post("/accounts/2fa/", {"otp_code": code}).status_code == 400
    assert eavesdropper.get("/admin/").status_code == 302
    # The phone's next code is a new one and works.
    assert eavesdropper.post("/accounts/2fa/", {"otp_code": code_for(device, step_offset=1)}).status_code == 302


def test_a_recovery_code_works_once(staff):
    client = staff_client(staff)
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=staff)
    codes = client.post("/accounts/2fa/setup/", {"otp_code": code_for(device)}).context["codes"]
    lost_phone = staff_client(staff)
    assert lost_phone.post("/accounts/2fa/", {"otp_code": codes[0]}).status_code == 302
    assert lost_phone.get("/admin/").status_code == 200
    again = staff_client(staff)
    assert again.post("/accounts/2fa/", {"otp_code": codes[0]}).status_code == 400
    assert StaticToken.objects.filter(device__user=staff).count() == 9


def test_guessing_codes_is_throttled(enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    staff, device = enrolled
    client = staff_client(staff)
    assert (
        client.post("/accounts/2fa/", {"otp_code": "999999" if code_for(device) != "999999" else "888888"}).status_code
        == 400
    )
    assert (
        client.post("/accounts/2fa/", {"otp_code": code_for(device)}).status_code == 400
    )  # even the right one, for now


def test_customers_have_no_second_factor_pages_and_no_check(alice):
    client = staff_client(alice)
    assert client.get("/accounts/2fa/setup/").status_code == 404
    assert client.get("/servers/").status_code == 200


def test_without_the_setting_staff_reach_the_admin_with_a_password(staff, settings):
    settings.STAFF_2FA_REQUIRED = False
    assert staff_client(staff).get("/admin/").status_code == 200


def test_staff_totp_replaces_the_devices_and_prints_the_contracts_json(enrolled, capsys):
    staff, old = enrolled
    call_command("staff_totp", "STAFF@example.com", "--json")
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"email", "secret", "otpauth_uri"} and result["email"] == staff.email
    new = TOTPDevice.objects.get(user=staff)
    assert new.pk != old.pk and new.confirmed
    assert base64.b32decode(result["secret"]) == new.bin_key
    assert result["otpauth_uri"].startswith("otpauth://totp/") and f"secret={result['secret']}" in result["otpauth_uri"]
    assert staff_client(staff).post("/accounts/2fa/", {"otp_code": code_for(new)}).status_code == 302
    record = StaffAction.objects.get()
    assert (record.action, record.target_id, record.via) == ("security.staff_totp", str(staff.pk), "command")


def test_staff_totp_refuses_an_unknown_email_and_a_customer(alice):
    for email in ["nobody@example.com", alice.email]:
        with pytest.raises(CommandError) as refused:
            call_command("staff_totp", email)
        assert refused.value.returncode == 2
    assert not TOTPDevice.objects.exists()


def test_a_fresh_check_before_a_dangerous_action_wants_a_new_code_each_time(enrolled):
    staff, device = enrolled
    request = RequestFactory().post("/")
    request.user = staff
    code = code_for(device)
    assert not second_factor_fresh(request, "")
    assert not second_factor_fresh(request, "123")
    assert second_factor_fresh(request, code)
    assert not second_factor_fresh(request, code)  # the same code twice is a replay


def test_a_fresh_check_is_not_asked_where_the_setting_is_off(staff, settings):
    settings.STAFF_2FA_REQUIRED = False
    request = RequestFactory().post("/")
    request.user = staff
    assert second_factor_fresh(request, "")


def test_the_staff_fixture_with_a_verified_session_reaches_the_admin(staff):
    client = Client()
    verified_staff_login(client, staff)
    assert client.get("/admin/").status_code == 200


def test_a_password_alone_at_the_admin_login_leads_to_the_second_factor(enrolled):
    staff, device = enrolled
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    follow = client.get(response.url)
    assert follow.status_code == 302 and follow.url.startswith("/accounts/2fa/?next=")
