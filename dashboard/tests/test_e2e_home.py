"""The customer home in a real browser: signing in lands there, and from it the
customer pays what is due, opens a server, answers a ticket and gets an invoice."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts.factories import DEFAULT_PASSWORD
from billing.factories import OrderFactory
from conftest import browser_test
from servers.factories import ServerFactory
from support.factories import TicketFactory

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test


def test_a_customer_signs_in_to_a_home_that_shows_what_runs_what_is_due_and_what_waits(live_server, page, alice, plan):
    order = OrderFactory(
        user=alice,
        plan=plan,
        status="paid",
        invoice_number="HP/26-27/000001",
        invoice_date=datetime.date(2026, 11, 26),
        paid_at=timezone.now(),
    )
    server = ServerFactory(order=order, status="active", ip_address="203.0.113.7")
    due = OrderFactory(user=alice, plan=plan, billing_cycle_months=3)
    ticket = TicketFactory(user=alice, status="awaiting_customer", subject="Which SSH key should we add?")
    expect = sync_api.expect

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/home/")

    servers = page.get_by_test_id("servers")
    expect(servers.get_by_role("link", name=server.name)).to_be_visible()
    expect(servers).to_contain_text("Active")
    expect(servers).to_contain_text("203.0.113.7")
    expect(page.get_by_test_id("tickets").get_by_role("link", name=re.compile("Which SSH key"))).to_be_visible()
    invoices = page.get_by_test_id("invoices")
    expect(invoices.get_by_role("link", name="HP/26-27/000001")).to_be_visible()
    expect(invoices.get_by_role("link", name="Download")).to_have_attribute("href", f"/orders/{order.number}/invoice.pdf")

    # The pay button opens the order's (simulated) checkout straight away.
    page.get_by_test_id("payments-due").get_by_role("link", name="Pay ₹7,929.60").click()
    expect(page).to_have_url(f"{live_server.url}/orders/{due.number}/")
    expect(page.get_by_role("dialog", name="Simulated checkout")).to_be_visible()

    page.goto(f"{live_server.url}/home/")
    page.get_by_test_id("tickets").get_by_role("link", name=re.compile("Which SSH key")).click()
    expect(page).to_have_url(f"{live_server.url}/support/{ticket.pk}/")
