import datetime
import json
import re

import pytest
from django.utils import timezone

from billing.factories import HostingPlanFactory, OrderFactory
from billing.models import Order
from servers.factories import ServerFactory

KARNATAKA_GSTIN = "29AAGCB7383J1Z4"  # check character computed by mod 36


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def paid_order(user, plan, number=1, **fields):
    fields.setdefault("buyer_state", "Karnataka")
    return OrderFactory(
        user=user,
        plan=plan,
        status="paid",
        invoice_number=f"HP/26-27/{number:06d}",
        invoice_date=datetime.date(2026, 11, 26),
        paid_at=timezone.now(),
        **fields,
    )


def checkout_form(**overrides):
    data = {"billing_cycle_months": "1", "name": "Alice Traders", "address": "1 MG Road", "state": "Karnataka"}
    data.update(overrides)
    return data


def checkout_options(response):
    match = re.search(r'<script id="checkout-options" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the order page carries no checkout options"
    return json.loads(match.group(1))


# --- Plans ---------------------------------------------------------------------


def test_the_plans_page_shows_prices_with_and_without_gst_and_a_choose_link(client, plan):
    response = client.get("/plans/")
    assert response.status_code == 200
    assert "₹2,240.00" in response.text and "₹2,643.20" in response.text
    assert 'href="/checkout/g-8gb/"' in response.text


# --- Checkout ------------------------------------------------------------------


def test_checkout_asks_a_visitor_to_sign_in_first(client, plan):
    response = client.get("/checkout/g-8gb/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/checkout/g-8gb/")


def test_checkout_shows_the_quote_for_one_month_and_the_saved_billing_details(alice_client, alice, plan):
    alice.billing_name = "Alice Traders"
    alice.save()
    response = alice_client.get("/checkout/g-8gb/")
    assert response.status_code == 200
    assert "Pay ₹2,643.20" in response.text
    assert 'value="Alice Traders"' in response.text
    assert '<option value="Karnataka" selected>' in response.text


def test_checkout_shows_the_cycle_discount_exactly_as_quoted(alice_client):
    HostingPlanFactory(slug="big", price_paise=100000, discount_12m_percent=10)
    response = alice_client.get("/checkout/big/?billing_cycle_months=12")
    # 12 × ₹1,000 = ₹12,000, less 10% = ₹10,800, GST ₹1,944 (CGST + SGST in Karnataka), total ₹12,744.
    for text in ["₹12,000.00", "−₹1,200.00", "₹10,800.00", "CGST @ 9%", "₹972.00", "Pay ₹12,744.00"]:
        assert text in response.text


def test_changing_the_cycle_with_htmx_rerenders_only_the_breakdown(alice_client, plan):
    response = alice_client.get("/checkout/g-8gb/?billing_cycle_months=3", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="breakdown"')
    assert "Pay ₹7,929.60" in response.text  # 3 × 224000 = 672000 + 120960 GST


def test_an_unknown_cycle_falls_back_to_one_month(alice_client, plan):
    response = alice_client.get("/checkout/g-8gb/?billing_cycle_months=7")
    assert "Pay ₹2,643.20" in response.text


def test_an_inactive_plan_cannot_be_checked_out(alice_client):
    HostingPlanFactory(slug="old", is_active=False)
    assert alice_client.get("/checkout/old/").status_code == 404


def test_paying_creates_the_order_with_the_buyer_details_and_opens_checkout(alice_client, alice, plan):
    response = alice_client.post("/checkout/g-8gb/", checkout_form(billing_cycle_months="3", gstin=KARNATAKA_GSTIN))
    order = Order.objects.get(user=alice)
    assert response.status_code == 302
    assert response.url == f"/orders/{order.number}/?pay=1"
    assert (order.status, order.billing_cycle_months, order.total_paise) == ("created", 3, 792960)
    assert (order.buyer_name, order.buyer_address, order.buyer_state, order.buyer_gstin) == (
        "Alice Traders",
        "1 MG Road",
        "Karnataka",
        KARNATAKA_GSTIN,
    )
    assert order.razorpay_order_id


def test_a_bad_gstin_is_refused_and_no_order_is_created(alice_client, alice, plan):
    response = alice_client.post("/checkout/g-8gb/", checkout_form(gstin="29AAGCB7383J1Z5"))
    assert response.status_code == 400
    assert "check character does not match" in response.text
    assert not Order.objects.filter(user=alice).exists()


def test_a_state_is_required_for_the_place_of_supply(alice_client, alice, plan):
    response = alice_client.post("/checkout/g-8gb/", checkout_form(state=""))
    assert response.status_code == 400
    assert not Order.objects.filter(user=alice).exists()


def test_when_razorpay_is_down_the_customer_sees_why_and_can_retry(alice_client, alice, plan, fake_razorpay):
    fake_razorpay.fail_next = 1
    response = alice_client.post("/checkout/g-8gb/", checkout_form())
    assert response.status_code == 503
    assert "could not reach our payment provider" in response.text
    assert "Pay ₹2,643.20" in response.text
    # The order waits, unpaid, with a way to complete it.
    order = Order.objects.get(user=alice)
    assert order.razorpay_order_id is None
    retry = alice_client.post(f"/orders/{order.number}/pay/")
    assert retry.url == f"/orders/{order.number}/?pay=1"
    order.refresh_from_db()
    assert order.razorpay_order_id in fake_razorpay.orders


def test_the_order_page_hands_razorpay_checkout_the_options_of_the_order(alice_client, alice, plan, fake_razorpay):
    alice_client.post("/checkout/g-8gb/", checkout_form())
    order = Order.objects.get(user=alice)
    response = alice_client.get(f"/orders/{order.number}/?pay=1")
    assert "https://checkout.razorpay.com/v1/checkout.js" in response.text
    assert 'data-autopay="1"' in response.text
    options = checkout_options(response)
    assert options["key"] == fake_razorpay.key_id
    assert options["order_id"] == order.razorpay_order_id
    assert options["amount"] == order.total_paise == fake_razorpay.orders[order.razorpay_order_id]["amount"]
    assert 'id="simulated-checkout"' not in response.text


def test_a_real_checkout_response_posted_to_verify_gives_the_server(alice_client, alice, plan, fake_razorpay):
    alice_client.post("/checkout/g-8gb/", checkout_form())
    order = Order.objects.get(user=alice)
    payment = fake_razorpay.pay(order.razorpay_order_id)
    response = alice_client.post(
        "/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["server"]["id"] == order.server.pk


# --- Simulated checkout --------------------------------------------------------


def test_in_simulated_mode_the_order_page_offers_the_labelled_simulated_checkout(alice_client, alice, plan, settings):
    assert settings.PAYMENTS_SIMULATED
    alice_client.post("/checkout/g-8gb/", checkout_form())
    order = Order.objects.get(user=alice)
    response = alice_client.get(f"/orders/{order.number}/")
    assert 'id="simulated-checkout"' in response.text
    assert "no money moves" in response.text
    assert f'data-simulated-url="/orders/{order.number}/simulated-payment/"' in response.text
    assert "checkout.razorpay.com" not in response.text
    assert checkout_options(response)["amount"] == 264320


def test_a_simulated_success_goes_through_the_real_verify_endpoint(alice_client, alice, plan):
    alice_client.post("/checkout/g-8gb/", checkout_form())
    order = Order.objects.get(user=alice)
    signed = alice_client.post(f"/orders/{order.number}/simulated-payment/").json()
    assert set(signed) == {"razorpay_order_id", "razorpay_payment_id", "razorpay_signature"}
    response = alice_client.post("/api/v1/payments/verify/", signed, content_type="application/json")
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "paid"
    assert response.json()["server"]["id"] == order.server.pk


def test_a_tampered_simulated_response_is_refused_by_verify(alice_client, alice, plan):
    alice_client.post("/checkout/g-8gb/", checkout_form())
    order = Order.objects.get(user=alice)
    signed = alice_client.post(f"/orders/{order.number}/simulated-payment/").json()
    signed["razorpay_signature"] = "0" * 64
    assert alice_client.post("/api/v1/payments/verify/", signed, content_type="application/json").status_code == 400
    order.refresh_from_db()
    assert order.status == "created"


def test_the_simulated_payment_view_is_404_when_payments_are_real(alice_client, alice, plan, fake_razorpay):
    order = OrderFactory(user=alice, plan=plan)
    assert alice_client.post(f"/orders/{order.number}/simulated-payment/").status_code == 404


def test_the_simulated_payment_view_is_404_for_another_customers_order(alice_client, bob, plan):
    order = OrderFactory(user=bob, plan=plan)
    assert alice_client.post(f"/orders/{order.number}/simulated-payment/").status_code == 404


def test_the_simulated_payment_view_is_404_for_a_paid_order_and_refuses_get(alice_client, alice, plan):
    order = paid_order(alice, plan)
    assert alice_client.post(f"/orders/{order.number}/simulated-payment/").status_code == 404
    created = OrderFactory(user=alice, plan=plan)
    assert alice_client.get(f"/orders/{created.number}/simulated-payment/").status_code == 405


# --- Orders --------------------------------------------------------------------


def test_the_order_list_shows_only_the_customers_orders_with_their_state(alice_client, alice, bob, plan):
    created = OrderFactory(user=alice, plan=plan)
    paid = ServerFactory(order=paid_order(alice, plan)).order
    refunded = OrderFactory(user=alice, plan=plan, status="refunded", invoice_number="HP/26-27/000009")
    cancelled = OrderFactory(user=alice, plan=plan, status="cancelled")
    bobs = OrderFactory(user=bob, plan=plan)
    response = alice_client.get("/orders/")
    assert response.status_code == 200
    for order in (created, paid, refunded, cancelled):
        assert order.number in response.text
    assert bobs.number not in response.text
    assert "Complete payment" in response.text
    assert f'href="/servers/{paid.server.pk}/"' in response.text


def test_the_order_list_has_an_empty_state_leading_to_plans(alice_client):
    response = alice_client.get("/orders/")
    assert "You have no orders yet" in response.text and 'href="/plans/"' in response.text


def test_the_order_list_shows_25_orders_a_page(alice_client, alice, plan):
    OrderFactory.create_batch(26, user=alice, plan=plan)
    first, second = alice_client.get("/orders/"), alice_client.get("/orders/?page=2")
    assert first.text.count('<td data-label="Order"><a href="/orders/ORD-') == 25
    assert second.text.count('<td data-label="Order"><a href="/orders/ORD-') == 1
    assert "Page 2 of 2" in second.text


@pytest.mark.parametrize("rows", [1, 200])
def test_the_order_list_makes_the_same_few_queries_however_many_orders(
    alice_client, alice, plan, rows, django_assert_max_num_queries
):
    for number in range(rows):
        ServerFactory(order=paid_order(alice, plan, number=number + 1))
    with django_assert_max_num_queries(4):  # session, user, count, one page of orders with servers
        assert alice_client.get("/orders/").status_code == 200


def test_a_paid_order_links_its_server_and_invoice(alice_client, alice, plan):
    server = ServerFactory(order=paid_order(alice, plan))
    response = alice_client.get(f"/orders/{server.order.number}/")
    assert f'href="/servers/{server.pk}/"' in response.text
    assert f'href="/orders/{server.order.number}/invoice/"' in response.text
    assert f'href="/orders/{server.order.number}/invoice.pdf"' in response.text
    assert "checkout-options" not in response.text


def test_a_created_order_without_a_razorpay_order_offers_a_retry_form(alice_client, alice, plan):
    order = OrderFactory(user=alice, plan=plan, razorpay_order_id=None)
    response = alice_client.get(f"/orders/{order.number}/")
    assert f'action="/orders/{order.number}/pay/"' in response.text
    assert "checkout-options" not in response.text


def test_a_failed_payment_attempt_is_explained_on_the_order(alice_client, alice, plan):
    order = OrderFactory(user=alice, plan=plan, payment_metadata={"last_failure": {"description": "Card declined"}})
    response = alice_client.get(f"/orders/{order.number}/")
    assert "Your last payment attempt failed: Card declined" in response.text
    assert "Pay ₹2,643.20" in response.text


def test_an_order_held_for_staff_does_not_offer_to_pay_again(alice_client, alice, plan):
    order = OrderFactory(user=alice, plan=plan, needs_attention=True, attention_reason="amount mismatch")
    response = alice_client.get(f"/orders/{order.number}/")
    assert "Please do not pay again" in response.text
    assert "data-checkout" not in response.text and "amount mismatch" not in response.text
    assert alice_client.post(f"/orders/{order.number}/simulated-payment/").status_code == 404
    assert alice_client.post(f"/orders/{order.number}/pay/").url == f"/orders/{order.number}/"


@pytest.mark.parametrize("status, text", [("refunded", "refunded"), ("cancelled", "nothing was charged")])
def test_refunded_and_cancelled_orders_say_so(alice_client, alice, plan, status, text):
    order = OrderFactory(user=alice, plan=plan, status=status, invoice_number="HP/26-27/000003")
    response = alice_client.get(f"/orders/{order.number}/")
    assert response.status_code == 200
    assert text in response.text
    assert "data-checkout" not in response.text


def test_paying_again_for_a_paid_order_changes_nothing(alice_client, alice, plan):
    order = paid_order(alice, plan)
    response = alice_client.post(f"/orders/{order.number}/pay/")
    assert response.url == f"/orders/{order.number}/"
    order.refresh_from_db()
    assert order.status == "paid"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/orders/{}/"),
        ("post", "/orders/{}/pay/"),
        ("get", "/orders/{}/invoice/"),
        ("get", "/orders/{}/invoice.pdf"),
    ],
)
def test_another_customers_order_and_invoice_are_404(alice_client, bob, plan, method, path):
    order = paid_order(bob, plan)
    assert getattr(alice_client, method)(path.format(order.number)).status_code == 404


@pytest.mark.parametrize("path", ["/orders/", "/orders/ORD-AAAAAAAAAA/", "/orders/ORD-AAAAAAAAAA/invoice/"])
def test_order_pages_ask_a_visitor_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- Invoices ------------------------------------------------------------------


def test_the_invoice_page_is_a_gst_tax_invoice(alice_client, alice, plan, settings):
    settings.SELLER_STATE = "Karnataka"
    order = paid_order(alice, plan, buyer_name="Alice Traders", buyer_gstin=KARNATAKA_GSTIN)
    response = alice_client.get(f"/orders/{order.number}/invoice/")
    assert response.status_code == 200
    for text in [
        "Tax invoice",
        "HP/26-27/000001",
        "26 Nov 2026",
        settings.SELLER_NAME,
        settings.SELLER_GSTIN,
        "Alice Traders",
        KARNATAKA_GSTIN,
        "998315",
        "Karnataka (29)",
        "CGST @ 9%",
        "SGST @ 9%",
        "₹201.60",
        "₹2,643.20",
        "Rupees Two Thousand Six Hundred Forty-Three and Twenty Paise Only",
    ]:
        assert text in response.text, text
    assert "IGST" not in response.text


def test_an_inter_state_invoice_page_shows_igst(alice_client, alice, plan):
    order = paid_order(alice, plan, buyer_state="Maharashtra")
    response = alice_client.get(f"/orders/{order.number}/invoice/")
    assert "IGST @ 18%" in response.text and "₹403.20" in response.text
    assert "CGST" not in response.text


@pytest.mark.parametrize("status", ["created", "cancelled"])
def test_an_unpaid_order_has_no_invoice_page_or_pdf(alice_client, alice, plan, status):
    order = OrderFactory(user=alice, plan=plan, status=status)
    assert alice_client.get(f"/orders/{order.number}/invoice/").status_code == 404
    assert alice_client.get(f"/orders/{order.number}/invoice.pdf").status_code == 404


def test_the_invoice_pdf_downloads_with_the_invoice_number(alice_client, alice, plan):
    order = paid_order(alice, plan)
    response = alice_client.get(f"/orders/{order.number}/invoice.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-HP-26-27-000001.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert b"HP/26-27/000001" in response.content


def test_a_refunded_order_still_has_its_invoice(alice_client, alice, plan):
    order = paid_order(alice, plan)
    Order.objects.filter(pk=order.pk).update(status="refunded")
    response = alice_client.get(f"/orders/{order.number}/invoice/")
    assert response.status_code == 200
    assert "This order has been refunded" in response.text


def test_a_billing_name_or_address_longer_than_an_invoice_takes_is_refused_and_no_order_is_created(
    alice_client, alice, plan
):
    response = alice_client.post("/checkout/g-8gb/", checkout_form(name="N" * 101, address="A" * 301))
    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters (it has 101)." in response.text
    assert "Ensure this value has at most 300 characters (it has 301)." in response.text
    assert not Order.objects.filter(user=alice).exists()


def test_the_saved_billing_details_take_the_same_limits_as_checkout(alice_client, alice):
    from billing.forms import BillingDetailsForm

    form = BillingDetailsForm(
        {"billing_name": "N" * 101, "billing_address": "A" * 301, "billing_state": "Karnataka"}, instance=alice
    )
    assert not form.is_valid()
    assert set(form.errors) == {"billing_name", "billing_address"}
