"""Autopay on the pages: the checkout and renewal tick boxes, the server page's
mandate and off button, a debit in progress shown before paying by hand, My Servers,
and the staff's views (the dashboard's count, the customer's history)."""

import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Order
from lifecycle.autopay.models import AutopayDebit
from lifecycle.billing_day import billing_run

from .autopay_world import CONTACT, mails_with, mandate_of
from .test_autopay_debits import autopay_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def checkout_options(response):
    match = re.search(r'<script id="checkout-options" type="application/json">(.*?)</script>', response.text, re.S)
    return json.loads(match.group(1))


def test_checkout_with_the_autopay_box_makes_an_order_that_registers_a_mandate(browser, plan, fake_razorpay):
    page = browser.get("/checkout/g-8gb/")
    assert "Pay renewals automatically (autopay)" in page.text and "₹15,000.00" in page.text
    form = {"billing_cycle_months": "1", "name": "Alice", "address": "1 MG Road", "state": "Karnataka"}
    response = browser.post("/checkout/g-8gb/", {**form, "autopay": "on", "contact": CONTACT, "without_ssh_key": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert order.payment_metadata["recurring"]["contact"] == "9876543210"
    options = checkout_options(browser.get(response.url))
    assert options["recurring"] == "1" and options["customer_id"] == order.payment_metadata["recurring"]["customer_id"]


def test_checkout_autopay_without_a_number_is_refused_on_the_page(browser, plan, fake_razorpay):
    form = {"billing_cycle_months": "1", "name": "Alice", "address": "1 MG Road", "state": "Karnataka"}
    response = browser.post("/checkout/g-8gb/", {**form, "autopay": "on", "without_ssh_key": "on"})
    assert response.status_code == 400 and "mobile number" in response.text
    assert not Order.objects.exists()


def test_the_server_page_shows_autopay_and_turns_it_off(
    api, client, browser, alice, plan, fake_razorpay, django_capture_on_commit_callbacks
):
    now = timezone.now()
    server, mandate = autopay_server(api, client, alice, plan, fake_razorpay, now)
    page = browser.get(f"/servers/{server.pk}/").text
    assert "Autopay: Active" in page and "Turn off autopay" in page
    assert '<td data-label="Autopay">active</td>' in browser.get("/servers/").text

    response = browser.post(f"/servers/{server.pk}/autopay/off/")

    assert response.status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == "cancelled"
    assert fake_razorpay.tokens[mandate.razorpay_token_id]["recurring_details"]["status"] == "cancelled"
    assert "Autopay: Cancelled" in browser.get(f"/servers/{server.pk}/").text


def test_a_debit_in_progress_is_shown_before_paying_by_hand(api, client, browser, alice, plan, fake_razorpay):
    now = timezone.now()
    server, _ = autopay_server(api, client, alice, plan, fake_razorpay, now)
    billing_run(now=now)
    debit = AutopayDebit.objects.get()
    assert (
        "An automatic payment of ₹2,643.20 for this renewal is in progress"
        in browser.get(f"/servers/{server.pk}/").text
    )
    assert (
        "An automatic payment (autopay) of this renewal is in progress"
        in browser.get(f"/orders/{debit.order.number}/").text
    )


def test_the_renewal_form_registers_autopay(browser, alice, plan, fake_razorpay):
    from .conftest import active_server

    server = active_server(alice, plan)
    assert "Pay later renewals automatically" in browser.get(f"/servers/{server.pk}/").text
    response = browser.post(
        f"/servers/{server.pk}/renew/", {"billing_cycle_months": "1", "autopay": "1", "contact": CONTACT}
    )
    assert response.status_code == 302
    renewal = Order.objects.get(renews_server=server)
    assert renewal.payment_metadata["recurring"]["contact"] == "9876543210"
    assert mandate_of(server) is None and not mails_with("autopay-")


def test_staff_see_failed_debits_this_week_and_the_mandate_in_the_customers_history(
    api, client, alice, plan, fake_razorpay, staff
):
    from backoffice.selectors import customer_timeline
    from ops.selectors import ops_counts

    now = timezone.now()
    autopay_server(api, client, alice, plan, fake_razorpay, now)
    fake_razorpay.fail_next_recurring = 1
    billing_run(now=now)
    billing_run(now=now + timezone.timedelta(seconds=1))
    assert AutopayDebit.objects.get().status == "failed"
    assert ops_counts(now)["autopay_failed_week"] == 1
    assert any(entry.what == "autopay" and "active" in entry.text for entry in customer_timeline(alice))
