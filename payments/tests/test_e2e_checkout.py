"""One customer journey in a real browser: plans, checkout with a cycle change,
simulated payment through the real verify endpoint, and the server page
updating itself. Needs Playwright for Python and a Chromium binary (Debian:
`apt-get install chromium`); skipped where either is missing."""

import re

import pytest

from accounts.factories import DEFAULT_PASSWORD
from billing.models import Order
from conftest import browser_test

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test


def test_a_customer_buys_a_plan_and_watches_the_server_come_up(live_server, page, alice, plan, broker_down, settings):
    assert settings.PAYMENTS_SIMULATED
    expect = sync_api.expect

    page.goto(f"{live_server.url}/plans/")
    page.get_by_role("link", name="Choose G.8GB").click()
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/checkout/g-8gb/")

    # The server re-renders the breakdown when the cycle changes (3 × ₹2,240 + 18% GST).
    page.get_by_label("3 months").check()
    expect(page.get_by_test_id("total")).to_have_text("₹7,929.60")
    page.get_by_label("Name on the invoice").fill("Alice Traders")
    page.get_by_label("State (place of supply)").select_option("Karnataka")
    page.get_by_role("button", name="Pay ₹7,929.60").click()

    # The order page opens the clearly labelled simulated checkout by itself.
    dialog = page.get_by_role("dialog", name="Simulated checkout")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("no money moves")
    dialog.get_by_role("button", name="Fail").click()
    expect(page.locator("[data-status]")).to_contain_text("The payment failed")
    order = Order.objects.get(user=alice)
    assert order.status == "created"

    # Retrying the same order succeeds through the real verify endpoint.
    page.get_by_role("button", name="Pay ₹7,929.60").click()
    dialog.get_by_role("button", name="Succeed").click()
    expect(page).to_have_url(re.compile(r"/servers/\d+/$"))
    order.refresh_from_db()
    assert (order.status, order.total_paise, order.buyer_name) == ("paid", 792960, "Alice Traders")
    server = order.server
    assert page.url == f"{live_server.url}/servers/{server.pk}/"

    # The broker is down, so the server waits in pending; the page polls.
    expect(page.locator("#server-status .badge").first).to_have_text("Pending")
    page.evaluate("window.stillTheSamePage = true")
    server.status, server.hostname, server.ip_address = "active", "web1.example.net", "203.0.113.7"
    server.save()
    server.status_changes.create(from_status="pending", to_status="active", source="test")
    expect(page.locator("#server-status .badge").first).to_have_text("Active")
    expect(page.locator("#server-status")).to_contain_text("203.0.113.7")
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, no reload
