"""Issue 28, in a real browser: the refund form keeps what staff typed and says each
error beside the amount; "everything that is left" is a tick box; the credit note the
refund issues opens for staff as HTML and PDF. A staff session that passed the second
factor, a fresh TOTP code typed for the refund, the fake Razorpay behind the real SDK."""

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP

from accounts.factories import UserFactory
from billing.models import CreditNote, Refund
from conftest import browser_test
from payments.tests.test_refunds import verified
from security.factories import verified_staff_login

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test


def code_now(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.fixture
def staff_page(browser, live_server, settings):
    """A browser tab signed in as a superuser whose session passed the second factor."""
    settings.STAFF_2FA_REQUIRED = True
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    device = verified_staff_login(client, boss)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.device = device
    yield page
    context.close()


def test_the_refund_form_keeps_what_was_typed_and_the_credit_note_opens_for_staff(
    staff_page,
    live_server,
    api,
    portal_order,
    fake_razorpay,
):
    expect = sync_api.expect
    page = staff_page
    verified(api, portal_order, fake_razorpay)
    page.goto(f"{live_server.url}/admin/billing/order/{portal_order.pk}/change/")
    page.get_by_role("link", name="Refund…").click()
    expect(page.get_by_text("₹2,643.20 left to refund")).to_be_visible()

    amount, reason = page.get_by_label("Amount in rupees"), page.get_by_label("Reason", exact=False)
    for typed, error in [
        ("-5000", "digits with at most two decimals"),
        ("12.345", "digits with at most two decimals"),
        ("abc", "digits with at most two decimals"),
        ("0", "Type an amount above ₹0.00 (you typed '0')."),
        ("999999", "has ₹2,643.20 left to refund; ₹9,99,999.00 asked."),
    ]:
        amount.fill(typed)
        reason.fill("Goodwill for downtime")
        page.get_by_role("button", name="Yes, refund").click()
        beside = page.locator("#id_amount_error")
        expect(beside).to_contain_text(error)
        expect(page.get_by_label("Amount in rupees")).to_have_value(typed)  # kept, not retyped
        expect(page.get_by_label("Reason", exact=False)).to_have_value("Goodwill for downtime")
        expect(page.get_by_text("and for one order only")).to_have_count(0)
    assert not Refund.objects.exists() and not fake_razorpay.refunds

    amount.fill("")  # a blank amount is not "everything": it asks
    page.get_by_role("button", name="Yes, refund").click()
    expect(page.locator("#id_amount_error")).to_contain_text("tick “everything that is left”")
    assert not Refund.objects.exists()

    page.get_by_label("Refund everything that is left").check()
    page.get_by_label("Authentication code").fill(code_now(page.device))
    page.get_by_role("button", name="Yes, refund").click()
    expect(page.get_by_text("is processed.")).to_be_visible()
    assert Refund.objects.get().amount_paise == portal_order.total_paise

    note = CreditNote.objects.get(order=portal_order)
    page.goto(f"{live_server.url}/admin/billing/order/{portal_order.pk}/change/")
    page.get_by_role("link", name="document").click()
    expect(page).to_have_url(f"{live_server.url}/admin/credit-notes/{note.pk}/")
    expect(page.get_by_role("heading", name="Credit note")).to_be_visible()
    expect(page.get_by_text(note.number).first).to_be_visible()
    expect(page.get_by_text("Goodwill for downtime")).to_be_visible()
    pdf = page.request.get(f"{live_server.url}/admin/credit-notes/{note.pk}/?pdf=1")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
