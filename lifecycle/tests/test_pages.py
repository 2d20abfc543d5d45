"""The customer's pages: My Servers and the server page show the subscription and act on it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Order
from lifecycle.renewals import renewal_issue
from lifecycle.selectors import days_left
from servers.operations import server_suspend

from .conftest import active_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_the_server_page_shows_paid_until_days_left_and_the_renewal_to_pay(browser, alice, plan):
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=5, hours=1))
    renewal = renewal_issue(server.pk, source="test")
    page = browser.get(f"/servers/{server.pk}/").content.decode()
    left = days_left(server.paid_until, timezone.now())  # calendar days in the portal's time zone: 5 or 6
    assert "Paid until" in page and f"<dt>Days left</dt><dd>{left}</dd>" in page
    assert f"Renewal {renewal.number}" in page and "Pay ₹2,643.20" in page
    assert f'action="/orders/{renewal.number}/pay/"' in page
    assert "Cancel at end of period" in page and "deleted with all its data" in page
    assert "Renewal issued" in page  # the timeline


def test_an_overdue_server_says_when_it_will_be_stopped_and_deleted(browser, alice, plan):
    server = active_server(alice, plan, paid_until=timezone.now() - timedelta(days=1))
    page = browser.get(f"/servers/{server.pk}/").content.decode()
    assert "Payment overdue since" in page and "stopped on" in page and "deleted with its data on" in page


def test_suspended_overdue_and_by_staff_read_differently(browser, alice, plan, django_capture_on_commit_callbacks):
    overdue = active_server(alice, plan, paid_until=timezone.now() - timedelta(days=4))
    staff = active_server(alice, plan)
    with django_capture_on_commit_callbacks(execute=True):
        server_suspend(overdue.pk, reason="overdue", source="billing")
        server_suspend(staff.pk, reason="staff", source="admin")
    assert (
        "Pay the renewal below and it starts again by itself" in browser.get(f"/servers/{overdue.pk}/").content.decode()
    )
    assert "Paying does not lift this suspension" in browser.get(f"/servers/{staff.pk}/").content.decode()


def test_renewing_from_the_page_creates_the_renewal_and_opens_its_payment(browser, alice, plan, fake_razorpay):
    server = active_server(alice, plan)
    response = browser.post(f"/servers/{server.pk}/renew/", {"billing_cycle_months": "3"})
    renewal = Order.objects.get(renews_server=server, status="created")
    assert response.status_code == 302 and response["Location"] == f"/orders/{renewal.number}/?pay=1"
    assert renewal.billing_cycle_months == 3 and renewal.razorpay_order_id
    order_page = browser.get(response["Location"]).content.decode()
    assert "Renewal of" in order_page and "for 3 months" in order_page


def test_the_cancel_switch_turns_on_and_off_in_plain_words(browser, alice, plan):
    server = active_server(alice, plan)
    browser.post(f"/servers/{server.pk}/cancellation/", {"cancel": "1"})
    server.refresh_from_db()
    page = browser.get(f"/servers/{server.pk}/").content.decode()
    assert server.cancel_at_period_end and "You will not be charged again" in page and "Keep my server" in page
    browser.post(f"/servers/{server.pk}/cancellation/", {"cancel": "0"})
    server.refresh_from_db()
    assert not server.cancel_at_period_end


def test_my_servers_lists_paid_until_and_the_renewal_to_pay(browser, alice, plan):
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=3))
    renewal = renewal_issue(server.pk, source="test")
    page = browser.get("/servers/").content.decode()
    assert "Paid until" in page and f"/orders/{renewal.number}/" in page and "renewal to pay" in page


def test_another_customers_server_cannot_be_renewed_or_cancelled(bob, alice, plan):
    server = active_server(alice, plan)
    client = Client()
    client.force_login(bob)
    assert client.post(f"/servers/{server.pk}/renew/").status_code == 404
    assert client.post(f"/servers/{server.pk}/cancellation/", {"cancel": "1"}).status_code == 404


def test_every_button_of_the_billing_card_is_styled_by_the_stylesheet(browser, alice, plan):
    """The stylesheet styles `.button.secondary` and `button.primary`: a bare `button.secondary`
    rendered as the browser's default grey button."""
    server = active_server(alice, plan)
    renewal_issue(server.pk, source="test")
    page = browser.get(f"/servers/{server.pk}/").content.decode()
    card = page[page.index('class="renewal"') :]
    buttons = card[: card.index("</section>") if "</section>" in card else len(card)].count("<button")
    assert buttons >= 3
    styled = card.count('<button type="submit" class="primary"') + card.count('<button type="submit" class="button secondary"')
    assert styled == buttons


def test_the_orders_list_says_which_server_a_renewal_renews_and_for_how_long(browser, alice, plan):
    server = active_server(alice, plan, months=1)
    renewal = renewal_issue(server.pk, source="test")
    page = browser.get("/orders/").content.decode()
    row = page[page.index(renewal.number) :]
    row = row[: row.index("</tr>")]
    assert f"Renewal of {server.name}, 1 month<" in row
    assert f'href="/servers/{server.pk}/"' in row
