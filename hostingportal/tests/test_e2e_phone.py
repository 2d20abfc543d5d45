"""Every customer page on a 390 px phone: nothing scrolls sideways, nothing sticks out
past the screen's edge (long hostnames and tokens wrap), and every money column of
every table is on screen."""

import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from accounts.factories import DEFAULT_PASSWORD
from billing.factories import OrderFactory, credit_note_issued
from conftest import PHONE, browser_sign_in, browser_test
from servers.factories import ServerFactory
from sshkeys.services import ssh_key_add
from sshkeys.tests.conftest import openssh_line
from support.factories import TicketMessageFactory

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test

LONG_HOSTNAME = "customer-web-frontend-production-primary-01.mumbai-zone-b.example-hosting.net"

# Elements that stick out past the viewport, and money cells that are not fully on
# screen (an overflow-x scroller would hide them while the page itself does not scroll).
LAYOUT_PROBLEMS = """() => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "") + " «" +
    (el.textContent || "").trim().slice(0, 50) + "»";
  const outside = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".visually-hidden, .skip, script, dialog:not([open])")) continue;
    const head = el.closest("thead");  // a stacked table's header is kept for screen readers only
    if (head && getComputedStyle(head).position === "absolute") continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -1 || r.right > width + 1) outside.push(describe(el));
  }
  const money = [...document.querySelectorAll("td.num")];
  const hiddenMoney = money.filter((el) => {
    const r = el.getBoundingClientRect();
    return r.width === 0 || r.left < 0 || r.right > width + 1 || getComputedStyle(el).visibility === "hidden";
  }).map(describe);
  return {scrollsSideways: document.documentElement.scrollWidth > width, outside, hiddenMoney, moneyCells: money.length};
}"""


@pytest.fixture
def world(alice, plan):
    order = OrderFactory(
        user=alice,
        plan=plan,
        status="paid",
        buyer_name="Alice Traders",
        buyer_state="Maharashtra",  # IGST: the invoice's widest tax line
        invoice_number="HP/26-27/000001",
        invoice_date=datetime.date(2026, 11, 26),
        paid_at=timezone.now(),
    )
    server = ServerFactory(
        order=order,
        status="active",
        hostname=LONG_HOSTNAME,
        ip_address="203.0.113.7",
        activated_at=timezone.now(),
        paid_until=timezone.now() + datetime.timedelta(days=5),
    )
    unpaid = OrderFactory(user=alice, plan=plan, billing_cycle_months=12, kind="renewal", renews_server=server)
    message = TicketMessageFactory(ticket__user=alice, ticket__server=server, body="x" * 120)
    credit_note = credit_note_issued(order, 26432, reason="Goodwill for a day of downtime")
    ssh_key_add(alice, name="a laptop key with a rather long name", public_key=openssh_line(Ed25519PrivateKey.generate()))
    return {"order": order, "server": server, "unpaid": unpaid, "ticket": message.ticket, "credit_note": credit_note}


def customer_pages(world):
    order, server, ticket = world["order"], world["server"], world["ticket"]
    return [
        ("/home/", 2),  # the renewal due and the invoice total
        ("/invoices/", 6),  # the invoice's taxable, GST, total, and its credit note's
        ("/plans/", 0),
        ("/checkout/g-8gb/", 0),
        ("/orders/", 2),
        (f"/orders/{order.number}/", 0),
        (f"/orders/{world['unpaid'].number}/", 0),
        (f"/orders/{order.number}/invoice/", 3),  # rate, amount; months is a number too
        (f"/orders/{order.number}/credit-notes/{world['credit_note'].pk}/", 2),
        ("/servers/", 0),
        (f"/servers/{server.pk}/", 0),
        ("/support/", 0),
        (f"/support/{ticket.pk}/", 0),
        ("/support/new/", 0),
        ("/accounts/profile/", 0),
        ("/accounts/tokens/", 0),
        ("/accounts/ssh-keys/", 0),
        ("/affiliate/", 0),
    ]


def test_no_customer_page_scrolls_sideways_on_a_phone_and_money_stays_on_screen(live_server, browser, alice, world):
    page = browser.new_page(**PHONE)
    page.set_default_timeout(10_000)
    browser_sign_in(page, live_server.url, alice.email, DEFAULT_PASSWORD)
    problems = {}
    for path, least_money_cells in customer_pages(world):
        page.goto(live_server.url + path)
        found = page.evaluate(LAYOUT_PROBLEMS)
        if found["scrollsSideways"] or found["outside"] or found["hiddenMoney"] or found["moneyCells"] < least_money_cells:
            problems[path] = found
    assert problems == {}, problems


def test_the_server_page_shows_a_long_hostname_whole_on_a_phone(live_server, browser, alice, world):
    page = browser.new_page(**PHONE)
    browser_sign_in(page, live_server.url, alice.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/servers/")
    cell = page.get_by_text(LONG_HOSTNAME)
    sync_api.expect(cell).to_be_visible()
    box = cell.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_the_key_added_message_and_the_commissions_table_fit_a_phone(live_server, browser, alice, bob, world, plan):
    """Issue 28: 'Key … added (SHA256:…)' and the affiliate commission table ran past 390 px."""
    from affiliates.models import Commission

    for status in ("pending", "approved", "reversed"):
        Commission.objects.create(
            order=OrderFactory(user=bob, plan=plan, status="paid", paid_at=timezone.now()),
            affiliate=alice,
            status=status,
            subtotal_paise=5376000,
            percent=10,
            original_amount_paise=537600,
            amount_paise=537600,
            hold_until=timezone.now(),
        )
    page = browser.new_page(**PHONE)
    page.set_default_timeout(10_000)
    browser_sign_in(page, live_server.url, alice.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/accounts/ssh-keys/")
    page.get_by_label("Name").fill("work laptop")
    page.get_by_label("Public key").fill(openssh_line(Ed25519PrivateKey.generate(), comment="alice@work-laptop"))
    page.get_by_role("button", name="Add key").click()
    sync_api.expect(page.locator("li.message.success")).to_contain_text("added (SHA256:")
    problems = {}
    for path in (None, "/affiliate/"):
        if path:
            page.goto(live_server.url + path)
        found = page.evaluate(LAYOUT_PROBLEMS)
        if found["scrollsSideways"] or found["outside"] or found["hiddenMoney"]:
            problems[path or "after adding a key"] = found
    assert problems == {}, problems
