"""Checkout's price in a real browser: choosing the state re-renders the tax lines
(CGST + SGST within the seller's state, IGST outside it) without a reload."""

import pytest

from accounts.factories import DEFAULT_PASSWORD, UserFactory
from conftest import browser_sign_in, browser_test

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test


def tax_lines(page):
    return [" ".join(row.inner_text().split()) for row in page.get_by_test_id("tax-line").all()]


@pytest.mark.parametrize(
    ("state", "months", "lines", "total"),
    [
        ("Karnataka", 1, ["CGST @ 9% ₹201.60", "SGST @ 9% ₹201.60"], "₹2,643.20"),
        ("Maharashtra", 3, ["IGST @ 18% ₹1,209.60"], "₹7,929.60"),
    ],
    ids=["intra-state", "inter-state"],
)
def test_the_checkout_price_splits_gst_as_the_chosen_state_decides(
    live_server, page, plan, state, months, lines, total
):
    buyer = UserFactory(email="buyer@example.com", billing_state="")
    browser_sign_in(page, live_server.url, buyer.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/checkout/g-8gb/")
    expect = sync_api.expect
    expect(page.get_by_test_id("tax-rule")).to_contain_text("Choose your state")

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("State (place of supply)").select_option(state)
    if months != 1:
        page.get_by_label(f"{months} months").check()
    expect(page.get_by_test_id("total")).to_have_text(total)
    expect(page.get_by_test_id("tax-line")).to_have_count(len(lines))
    assert tax_lines(page) == lines
    assert page.evaluate("window.stillTheSamePage") is True  # re-rendered in place

    # Another state flips the split the other way.
    other = "Maharashtra" if state == "Karnataka" else "Karnataka"
    page.get_by_label("State (place of supply)").select_option(other)
    expect(page.get_by_test_id("tax-line")).to_have_count(3 - len(lines))
