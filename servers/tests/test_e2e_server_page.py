"""Issue 28 in a real browser: checkout ticks a customer's only SSH key; the server page
shows Renew and Cancel as soon as the server turns active, without a reload; and Stop
asks once more, on a page saying what happens to running work, before anything is queued."""

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from accounts.factories import DEFAULT_PASSWORD
from billing.models import Order
from conftest import browser_sign_in, browser_test
from servers.models import ServerOperation
from sshkeys.services import ssh_key_add
from sshkeys.tests.conftest import openssh_line

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test


def test_the_only_key_is_ticked_the_billing_card_comes_with_activation_and_stop_asks_first(
    live_server, page, alice, plan, broker_down, settings
):
    assert settings.PAYMENTS_SIMULATED
    expect = sync_api.expect
    key = ssh_key_add(alice, name="laptop", public_key=openssh_line(Ed25519PrivateKey.generate()))
    browser_sign_in(page, live_server.url, alice.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}/checkout/g-8gb/")
    expect(page.locator(f"#ssh-keys input[value=\"{key.pk}\"]")).to_be_checked()
    page.get_by_label("Name on the invoice").fill("Alice Traders")
    page.get_by_label("State (place of supply)").select_option("Karnataka")
    page.get_by_role("button", name="Pay ₹2,643.20").click()
    page.get_by_role("dialog", name="Simulated checkout").get_by_role("button", name="Succeed").click()
    expect(page).to_have_url(re.compile(r"/servers/\d+/$"))
    order = Order.objects.get(user=alice)
    assert list(order.ssh_keys.values_list("fingerprint", flat=True)) == [key.fingerprint]

    # The broker is down: the server waits in pending while the page polls; then it turns
    # active and the billing card's controls arrive with it, no reload.
    server = order.server
    expect(page.locator("#server-status .badge").first).to_have_text("Pending")
    page.evaluate("window.stillTheSamePage = true")
    server.status, server.hostname, server.ip_address = "active", "web1.example.net", "203.0.113.7"
    server.activated_at = timezone.now()
    server.save()
    server.status_changes.create(from_status="pending", to_status="active", source="test")
    expect(page.locator("#server-status .badge").first).to_have_text("Active")
    expect(page.get_by_role("button", name="Cancel at end of period")).to_be_visible()
    expect(page.get_by_role("button", name="Renew and pay")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Stop .*\?$"))).to_be_visible()
    expect(page.get_by_text("anything they held only in memory is lost")).to_be_visible()
    assert not ServerOperation.objects.filter(server=server).exists()
    page.get_by_role("link", name="No, leave it running").click()
    expect(page).to_have_url(f"{live_server.url}/servers/{server.pk}/")
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Yes, stop it").click()
    expect(page.locator("li.message.success")).to_contain_text("Stop requested")
    assert ServerOperation.objects.filter(server=server, action="stop").count() == 1
