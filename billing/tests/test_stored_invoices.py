"""Invoices are stored documents, written in the payment's transaction: the
place of supply follows the buyer's GSTIN, checkout takes only what was
submitted, and later settings never rewrite a past invoice (issue 13)."""

import re

import pytest

from billing.models import Order, TaxInvoice

from .test_refunds import verified

KARNATAKA_GSTIN = "29AAGCB7383J1Z4"
MAHARASHTRA_GSTIN = "27AAGCB7383J1Z8"


@pytest.fixture(autouse=True)
def _seller(settings):
    settings.SELLER_NAME = "Demo Hosting Private Limited"
    settings.SELLER_STATE = "Karnataka"
    settings.SELLER_GSTIN = "29AABCD1234E1Z4"


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.mark.django_db
def test_the_invoice_is_written_with_the_payment_and_unchanged_after_the_seller_settings_change(
    alice_client, api, portal_order, fake_razorpay, settings
):
    verified(api, portal_order, fake_razorpay)
    document = TaxInvoice.objects.get(order=portal_order)
    assert document.number == portal_order.invoice_number and document.issued_on == portal_order.invoice_date
    assert document.seller_gstin == "29AABCD1234E1Z4" and document.intra_state
    assert (document.cgst_paise, document.sgst_paise, document.igst_paise) == (20160, 20160, 0)
    before = invoice_article(alice_client.get(f"/orders/{portal_order.number}/invoice/").text)
    pdf_before = pdf_text(alice_client.get(f"/orders/{portal_order.number}/invoice.pdf").content)

    settings.SELLER_STATE = "Maharashtra"
    settings.SELLER_GSTIN = "27AABCD1234E1Z0"
    settings.SELLER_NAME = "Renamed Hosting LLP"

    after = invoice_article(alice_client.get(f"/orders/{portal_order.number}/invoice/").text)
    assert after == before
    assert "29AABCD1234E1Z4" in after and "CGST" in after and "Renamed" not in after
    assert pdf_text(alice_client.get(f"/orders/{portal_order.number}/invoice.pdf").content) == pdf_before


def invoice_article(page):
    return re.search(r"<article.*?</article>", page, re.S).group(0)


def pdf_text(content):
    from .test_invoices import pdf_text as text_of

    return text_of(content)


@pytest.mark.django_db
def test_a_profile_gstin_of_another_state_without_a_state_means_igst(alice, api, plan, fake_razorpay):
    alice.gstin, alice.billing_state = MAHARASHTRA_GSTIN, ""
    alice.save()
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    verified(api, order, fake_razorpay)

    document = TaxInvoice.objects.get(order=order)
    assert document.place_of_supply == "Maharashtra" and document.place_of_supply_code == "27"
    assert not document.intra_state and document.igst_paise == order.tax_paise and document.cgst_paise == 0


@pytest.mark.django_db
def test_a_blank_gstin_at_checkout_does_not_pull_the_profiles(alice_client, alice, plan, fake_razorpay):
    alice.gstin, alice.billing_state = MAHARASHTRA_GSTIN, "Maharashtra"
    alice.save()
    form = {"billing_cycle_months": "1", "name": "Alice", "address": "1 MG Road", "state": "Karnataka", "gstin": ""}
    response = alice_client.post(f"/checkout/{plan.slug}/", form)
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.buyer_gstin == "" and order.buyer_state == "Karnataka"


@pytest.mark.django_db
def test_a_gstin_of_another_state_than_chosen_is_refused_at_checkout_with_a_clear_message(
    alice_client, plan, fake_razorpay
):
    form = {"billing_cycle_months": "1", "name": "Alice", "state": "Karnataka", "gstin": MAHARASHTRA_GSTIN}
    response = alice_client.post(f"/checkout/{plan.slug}/", form)
    assert response.status_code == 400
    assert "This GSTIN is registered in Maharashtra, but the billing state is Karnataka." in response.text
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_odd_paisa_of_tax_goes_to_sgst_and_the_invoice_says_so(alice_client, alice, api, fake_razorpay):
    from billing.factories import HostingPlanFactory

    odd = HostingPlanFactory(slug="odd", price_paise=10050)  # 18% = 1809 paise
    number = api.post("/api/v1/orders/", {"plan": odd.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    verified(api, order, fake_razorpay)
    document = TaxInvoice.objects.get(order=order)
    assert (document.cgst_paise, document.sgst_paise) == (904, 905)
    page = alice_client.get(f"/orders/{order.number}/invoice/").text
    assert "₹9.04" in page and "₹9.05" in page and "an odd paisa goes to SGST" in page
