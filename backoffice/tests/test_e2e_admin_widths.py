"""Issue 28: every admin list fits a 1280 px screen (the orders list showed 631 of its
986 px, Total, Status, Flagged, Ordered and Paid behind a scrollbar), and the pages a
staff member opens on a phone do not scroll sideways."""

import datetime

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.factories import UserFactory
from billing.factories import OrderFactory, PaymentFactory, RefundFactory, credit_note_issued
from conftest import PHONE, browser_test
from security.factories import verified_staff_login
from servers.factories import ServerFactory

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test

# Whether the page scrolls sideways, and how much of the results table its scroller hides.
CLIPPED = """() => {
  const table = document.querySelector("#result_list");
  const scroller = table && table.closest(".results");
  return {
    pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
    tableWidth: table ? table.scrollWidth : 0,
    shownWidth: scroller ? scroller.clientWidth : 0,
  };
}"""


@pytest.fixture
def staff_context(browser, live_server, settings):
    settings.STAFF_2FA_REQUIRED = True
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True, full_name="Priya Raman")
    client = Client()
    verified_staff_login(client, boss)

    def open_context(**options):
        context = browser.new_context(**options)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        return context

    return open_context


@pytest.fixture
def busy_world(alice, plan):
    """A row in the widest lists: long hostnames, numbers, reasons."""
    order = OrderFactory(
        user=alice,
        plan=plan,
        status="paid",
        buyer_name="Alice Traders Private Limited",
        buyer_state="Maharashtra",
        invoice_number="HP/26-27/000001",
        invoice_date=datetime.date(2026, 11, 26),
        paid_at=timezone.now(),
        needs_attention=True,
        attention_reason="A second captured payment; refund it",
    )
    payment = PaymentFactory(order=order)
    RefundFactory(payment=payment, amount_paise=26432, status="processed")
    credit_note_issued(order, 26432, reason="Goodwill for a day of downtime")
    ServerFactory(
        order=order,
        status="active",
        hostname="customer-web-frontend-production-primary-01.mumbai-zone-b.example-hosting.net",
        ip_address="203.0.113.7",
        paid_until=timezone.now() + datetime.timedelta(days=20),
    )
    OrderFactory(user=alice, plan=plan, billing_cycle_months=12, kind="renewal", renews_server=order.server)
    return order


def admin_lists():
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_module_permission
    )


def test_every_admin_list_fits_a_1280_px_screen(staff_context, live_server, busy_world):
    context = staff_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    clipped = {}
    for path in admin_lists():
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        found = page.evaluate(CLIPPED)
        if found["pageScrolls"] or found["tableWidth"] > found["shownWidth"] + 1:
            clipped[path] = found
    context.close()
    assert clipped == {}, clipped


def test_the_customer_page_fits_a_phone(staff_context, live_server, busy_world, alice):
    context = staff_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/customers/{alice.pk}/")
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    context.close()
    assert width[0] <= width[1] + 1, width
