"""GST credit notes for processed refunds: own gap-free series per financial
year, the contract's formula, never more than the invoice, shown to the owner
only (HTML, PDF, order page, API)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.credit_notes import credit_figures, credit_note_issue
from billing.models import CreditNote, InvoiceSequence, Order, TaxInvoice
from billing.services import financial_year, invoice_number_assign
from payments.refunds import order_refund
from payments.tests.test_refunds import verified

from .test_invoices import pdf_text

KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def paid(api, portal_order, fake_razorpay):
    verified(api, portal_order, fake_razorpay)
    return portal_order


@pytest.mark.django_db
def test_a_full_refund_credits_exactly_the_invoices_figures(paid, fake_razorpay, staff):
    refund = order_refund(paid.number, reason="Customer cancelled", actor=staff)
    note = CreditNote.objects.get(refund=refund)
    invoice = TaxInvoice.objects.get(order=paid)
    assert note.number.startswith("CN/") and len(note.number) <= 16 and note.number != invoice.number
    assert (note.taxable_paise, note.cgst_paise, note.sgst_paise, note.igst_paise, note.amount_paise) == (
        invoice.taxable_paise,
        invoice.cgst_paise,
        invoice.sgst_paise,
        invoice.igst_paise,
        invoice.total_paise,
    )
    assert (note.invoice_number, note.invoice_date) == (invoice.number, invoice.issued_on)
    assert note.reason == "Customer cancelled" and note.seller_gstin == invoice.seller_gstin


@pytest.mark.django_db
def test_partial_refunds_follow_the_formula_and_the_last_one_completes_the_invoice(paid, fake_razorpay, staff):
    first = order_refund(paid.number, reason="Goodwill", actor=staff, amount_paise=10001)
    note = first.credit_note
    # R = 10001 at 18%: taxable = 10001 × 100 / 118 = 8475.42 -> 8475, tax = 1526 (CGST 763, SGST 763)
    assert (note.taxable_paise, note.tax_paise, note.cgst_paise, note.sgst_paise) == (8475, 1526, 763, 763)
    rest = order_refund(paid.number, reason="Cancelled", actor=staff)
    invoice = TaxInvoice.objects.get(order=paid)
    notes = list(CreditNote.objects.filter(order=paid))
    fy = financial_year(timezone.localdate())[2:]
    assert [n.number for n in notes] == [f"CN/{fy}/000001", f"CN/{fy}/000002"]
    for name in ("taxable_paise", "cgst_paise", "sgst_paise", "igst_paise"):
        assert sum(getattr(n, name) for n in notes) == getattr(invoice, name), name
    assert rest.credit_note.amount_paise == paid.total_paise - 10001
    paid.refresh_from_db()
    assert paid.status == "refunded"


@pytest.mark.django_db
def test_a_pending_refund_issues_no_credit_note_until_processed(paid, fake_razorpay, staff):
    fake_razorpay.refund_status = "pending"
    refund = order_refund(paid.number, reason="Goodwill", actor=staff, amount_paise=5000)
    assert not CreditNote.objects.exists()
    from payments.refunds import refund_apply

    refund_apply(
        refund_id=refund.razorpay_refund_id,
        payment_id=refund.payment.razorpay_payment_id,
        amount_paise=5000,
        status="processed",
        source="webhook",
    )
    assert CreditNote.objects.get().amount_paise == 5000


def test_a_credit_note_never_exceeds_what_is_left_of_the_invoice():
    class Invoice:
        taxable_paise, tax_paise, total_paise, gst_rate_percent, intra_state = 1, 1, 2, 18, True
        cgst_paise, sgst_paise, igst_paise = 0, 1, 0

    nothing = dict.fromkeys(("taxable_paise", "tax_paise", "cgst_paise", "sgst_paise", "igst_paise", "amount_paise"), 0)
    one = credit_figures(Invoice, 1, nothing)
    assert one["taxable_paise"] + one["tax_paise"] == 1 and one["taxable_paise"] <= 1
    with pytest.raises(ValueError):
        credit_figures(Invoice, 3, nothing)


@pytest.mark.django_db
def test_the_credit_note_is_shown_to_its_owner_only_as_html_pdf_on_the_order_page_and_in_the_api(
    paid, fake_razorpay, staff, client, alice, bob
):
    refund = order_refund(paid.number, reason="Customer cancelled", actor=staff, amount_paise=26432)
    note = refund.credit_note
    url = f"/orders/{paid.number}/credit-notes/{note.pk}/"
    client.force_login(alice)
    page = client.get(url)
    assert page.status_code == 200
    for text in (note.number, paid.invoice_number, "₹264.32", "Customer cancelled", "CGST @ 9%"):
        assert text in page.text, text
    pdf = client.get(f"/orders/{paid.number}/credit-notes/{note.pk}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "CREDIT NOTE" in text and note.number in text and "₹264.32" in text
    order_page = client.get(f"/orders/{paid.number}/").text
    assert url in order_page and "₹264.32" in order_page

    api = APIClient()
    api.force_authenticate(alice)
    body = api.get(f"/api/v1/orders/{paid.number}/").json()
    assert body["refunded_paise"] == 26432
    assert body["invoice"]["number"] == paid.invoice_number and body["invoice"]["pdf_url"].endswith("/invoice.pdf")
    assert body["credit_notes"] == [
        {
            "number": note.number,
            "date": note.issued_on.isoformat(),
            "amount_paise": 26432,
            "url": f"http://testserver{url}",
            "pdf_url": f"http://testserver/orders/{paid.number}/credit-notes/{note.pk}.pdf",
        }
    ]

    client.force_login(bob)
    assert client.get(url).status_code == 404
    assert client.get(f"/orders/{paid.number}/credit-notes/{note.pk}.pdf").status_code == 404


@pytest.mark.django_db
def test_an_unpaid_order_has_no_invoice_and_no_credit_notes_in_the_api(api, portal_order):
    body = api.get(f"/api/v1/orders/{portal_order.number}/").json()
    assert body["invoice"] is None and body["credit_notes"] == [] and body["refunded_paise"] == 0


# --- Financial-year boundary (Asia/Kolkata) ---------------------------------------

LAST_MINUTE = datetime.datetime(2027, 3, 31, 23, 59, tzinfo=KOLKATA)
FIRST_MINUTE = datetime.datetime(2027, 4, 1, 0, 0, tzinfo=KOLKATA)


@pytest.mark.django_db
def test_invoice_numbers_change_series_at_midnight_of_1_april_in_kolkata(alice, plan):
    from billing.factories import OrderFactory

    before, after = OrderFactory(user=alice, plan=plan), OrderFactory(user=alice, plan=plan)
    # In UTC both moments are on 31 March (18:29 and 18:30): the local date decides.
    invoice_number_assign(before, timezone.localdate(LAST_MINUTE.astimezone(datetime.UTC)))
    invoice_number_assign(after, timezone.localdate(FIRST_MINUTE.astimezone(datetime.UTC)))
    assert before.invoice_number == "HP/26-27/000001" and before.invoice_date == datetime.date(2027, 3, 31)
    assert after.invoice_number == "HP/27-28/000001" and after.invoice_date == datetime.date(2027, 4, 1)
    assert set(InvoiceSequence.objects.values_list("financial_year", flat=True)) == {"2026-27", "2027-28"}


@pytest.mark.django_db
def test_credit_note_numbers_change_series_at_midnight_of_1_april_in_kolkata(api, plan, fake_razorpay, staff):
    numbers = []
    for moment in (LAST_MINUTE, FIRST_MINUTE):
        order = Order.objects.get(
            number=api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
        )
        verified(api, order, fake_razorpay)
        fake_razorpay.refund_status = "pending"
        refund = order_refund(order.number, reason="x", actor=staff)
        note = credit_note_issue(order, refund, when=moment.astimezone(datetime.UTC))
        numbers.append((note.number, note.issued_on))
    assert numbers == [("CN/26-27/000001", datetime.date(2027, 3, 31)), ("CN/27-28/000001", datetime.date(2027, 4, 1))]
