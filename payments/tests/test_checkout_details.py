"""Checkout shows GST split as the invoice will (CGST + SGST or IGST) for the state
chosen, and remembers the billing details the customer last used."""

import pytest

from accounts.factories import UserFactory
from billing.factories import OrderFactory
from billing.models import Order

from .test_views import checkout_form


@pytest.fixture
def carol_client(client, db):
    carol = UserFactory(email="carol@example.com", billing_name="", billing_address="", billing_state="", gstin="")
    client.force_login(carol)
    client.user = carol
    return client


def breakdown(client, state, months=1):
    response = client.get(f"/checkout/g-8gb/?billing_cycle_months={months}&state={state}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="breakdown"')
    return response.text


def test_an_intra_state_buyer_sees_cgst_and_sgst_before_paying(carol_client, plan):
    html = breakdown(carol_client, "Karnataka")  # the seller's state in the demo settings
    assert "CGST @ 9%" in html and "SGST @ 9%" in html
    assert html.count("₹201.60") == 2  # 40320 paise of GST, halved
    assert "IGST" not in html and "Pay ₹2,643.20" in html


def test_an_inter_state_buyer_sees_igst_before_paying(carol_client, plan):
    html = breakdown(carol_client, "Maharashtra", months=3)
    assert "IGST @ 18%" in html and "₹1,209.60" in html
    assert "CGST" not in html and "Pay ₹7,929.60" in html


def test_before_a_state_is_chosen_the_breakdown_says_what_will_decide_the_split(carol_client, plan):
    html = breakdown(carol_client, "")
    assert "GST (18%)" in html and "Choose your state" in html
    assert "CGST @" not in html and "IGST @" not in html


def test_an_unknown_state_is_treated_as_not_chosen(carol_client, plan):
    assert "Choose your state" in breakdown(carol_client, "Atlantis")


def test_the_full_page_shows_the_split_for_the_saved_state(carol_client, plan):
    carol_client.user.billing_state = "Tamil Nadu"
    carol_client.user.save()
    html = carol_client.get("/checkout/g-8gb/").text
    assert "IGST @ 18%" in html and "Supply to Tamil Nadu" in html


def test_the_order_page_shows_the_split_of_its_buyer_state(carol_client, plan):
    order = OrderFactory(user=carol_client.user, plan=plan, buyer_state="Kerala")
    html = carol_client.get(f"/orders/{order.number}/").text
    assert "IGST @ 18%" in html and "GST (18%)" not in html


def test_checkout_remembers_the_billing_details_for_next_time_and_the_account_page(carol_client, plan):
    details = checkout_form(name="Carol Exports", address="4 Anna Salai, Chennai", state="Tamil Nadu")
    assert carol_client.post("/checkout/g-8gb/", details).status_code == 302

    carol = carol_client.user
    carol.refresh_from_db()
    assert (carol.billing_name, carol.billing_address, carol.billing_state) == (
        "Carol Exports",
        "4 Anna Salai, Chennai",
        "Tamil Nadu",
    )
    next_checkout = carol_client.get("/checkout/g-8gb/").text
    assert 'value="Carol Exports"' in next_checkout and '<option value="Tamil Nadu" selected>' in next_checkout
    account = carol_client.get("/accounts/profile/").text
    assert 'value="Carol Exports"' in account and "4 Anna Salai, Chennai" in account


def test_a_refused_checkout_remembers_nothing(carol_client, plan):
    response = carol_client.post("/checkout/g-8gb/", checkout_form(name="Carol", gstin="29AAGCB7383J1Z5"))
    assert response.status_code == 400
    carol = carol_client.user
    carol.refresh_from_db()
    assert carol.billing_name == "" and not Order.objects.filter(user=carol).exists()
