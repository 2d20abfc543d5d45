import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.factories import HostingPlanFactory, OrderFactory
from billing.invoice_pdf import invoice_pdf
from billing.invoices import NoInvoice, amount_in_words, invoice_for, number_in_words


def paid_order(user, plan, **fields):
    fields.setdefault("buyer_state", "Karnataka")
    fields.setdefault("buyer_name", "Alice Traders")
    return OrderFactory(
        user=user,
        plan=plan,
        status="paid",
        invoice_number=fields.pop("invoice_number", "HP/26-27/000001"),
        invoice_date=datetime.date(2026, 11, 26),
        paid_at=timezone.now(),
        **fields,
    )


@pytest.fixture(autouse=True)
def _seller(settings):
    settings.SELLER_STATE = "Karnataka"
    settings.SELLER_GSTIN = "29AAGCB7383J1Z4"


@pytest.mark.parametrize(
    "paise, words",
    [
        (264320, "Rupees Two Thousand Six Hundred Forty-Three and Twenty Paise Only"),
        (100, "Rupees One Only"),
        (1, "Rupees Zero and One Paise Only"),
        (99, "Rupees Zero and Ninety-Nine Paise Only"),
        (1_000_000_00, "Rupees Ten Lakh Only"),
        (1_50_000_00, "Rupees One Lakh Fifty Thousand Only"),
        (1_00_00_000_00, "Rupees One Crore Only"),
        (
            12_34_56_789_01,
            "Rupees Twelve Crore Thirty-Four Lakh Fifty-Six Thousand Seven Hundred Eighty-Nine and One Paise Only",
        ),
        (100_00_00_000_00, "Rupees One Hundred Crore Only"),
        (1_011_00, "Rupees One Thousand Eleven Only"),
    ],
)
def test_amounts_are_spelled_in_indian_numbering(paise, words):
    assert amount_in_words(paise) == words


def test_zero_is_spelled_zero():
    assert number_in_words(0) == "Zero"


def test_an_intra_state_invoice_splits_gst_into_cgst_and_sgst_that_add_up(alice, plan):
    order = paid_order(alice, plan)  # ₹2,240.00 a month: tax 40320
    invoice = invoice_for(order)
    assert invoice.intra_state
    assert [(line.label, line.rate_text, line.amount_paise) for line in invoice.tax_lines] == [
        ("CGST", "9", 20160),
        ("SGST", "9", 20160),
    ]
    assert invoice.taxable_paise + sum(line.amount_paise for line in invoice.tax_lines) == invoice.total_paise == 264320
    assert invoice.place_of_supply == "Karnataka (29)"
    assert invoice.sac == "998315"
    assert invoice.total_in_words == "Rupees Two Thousand Six Hundred Forty-Three and Twenty Paise Only"


def test_an_odd_paisa_of_tax_goes_to_sgst_so_the_lines_still_add_up(alice):
    plan = HostingPlanFactory(price_paise=105550)  # 18% of 1055.50 = 189.99
    order = paid_order(alice, plan)
    assert order.tax_paise == 18999
    lines = {line.label: line.amount_paise for line in invoice_for(order).tax_lines}
    assert lines == {"CGST": 9499, "SGST": 9500}
    assert order.subtotal_paise + sum(lines.values()) == order.total_paise


def test_an_inter_state_invoice_charges_igst_only(alice, plan):
    invoice = invoice_for(paid_order(alice, plan, buyer_state="Maharashtra", buyer_gstin="27AAPFU0939F1ZV"))
    assert not invoice.intra_state
    assert [(line.label, line.rate_text, line.amount_paise) for line in invoice.tax_lines] == [("IGST", "18", 40320)]
    assert invoice.place_of_supply == "Maharashtra (27)"
    assert invoice.buyer.gstin == "27AAPFU0939F1ZV"


def test_without_a_buyer_state_the_supply_is_where_the_seller_is(alice, plan):
    invoice = invoice_for(paid_order(alice, plan, buyer_state=""))
    assert invoice.intra_state
    assert invoice.place_of_supply == "Karnataka (29)"


def test_a_half_percent_rate_is_split_into_half_rates(alice, plan, settings):
    settings.GST_RATE_PERCENT = 5
    invoice = invoice_for(paid_order(alice, plan))
    assert [line.rate_text for line in invoice.tax_lines] == ["2.5", "2.5"]
    assert invoice.tax_lines[0].rate_percent == Decimal("2.5")
    assert sum(line.amount_paise for line in invoice.tax_lines) == invoice.tax_paise == 11200


def test_a_cycle_discount_is_shown_between_gross_and_taxable_value(alice):
    plan = HostingPlanFactory(price_paise=100000, discount_12m_percent=10)
    invoice = invoice_for(paid_order(alice, plan, billing_cycle_months=12))
    assert (invoice.gross_paise, invoice.discount_paise, invoice.taxable_paise) == (1200000, 120000, 1080000)
    assert invoice.tax_paise == 194400
    assert invoice.total_paise == 1274400
    assert invoice.quantity_months == 12


@pytest.mark.parametrize("status", ["created", "cancelled"])
def test_an_unpaid_order_has_no_invoice(alice, plan, status):
    with pytest.raises(NoInvoice):
        invoice_for(OrderFactory(user=alice, plan=plan, status=status))


def test_a_refunded_order_keeps_its_invoice_marked_refunded(alice, plan):
    order = paid_order(alice, plan)
    order.status = "refunded"
    order.save()
    assert invoice_for(order).refunded


def pdf_text(pdf: bytes) -> str:
    """The text a reader sees, extracted with pypdf (the font is embedded, so the
    raw bytes hold glyph ids, not characters)."""
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_carries_the_invoice_number_and_every_amount_in_rupees(alice, plan):
    invoice = invoice_for(paid_order(alice, plan))
    pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf  # the font is embedded
    text = pdf_text(pdf)
    for expected in [
        "TAX INVOICE",
        "HP/26-27/000001",
        "998315",
        "₹2,240.00",
        "₹201.60",
        "₹2,643.20",
        "CGST @ 9%",
        "SGST @ 9%",
        "Place of supply: Karnataka (29)",
        "29AAGCB7383J1Z4",
        "Rupees Two Thousand Six Hundred Forty-Three and Twenty Paise Only",
    ]:
        assert expected in text, expected
    assert "Rs." not in text and "40320" not in text  # rupees, never raw paise


def test_the_pdf_survives_names_outside_latin_1(alice, plan):
    invoice = invoice_for(paid_order(alice, plan, buyer_address="१२ गली, Bengaluru"))
    assert invoice_pdf(invoice).startswith(b"%PDF-")


@pytest.mark.django_db
def test_an_emoji_in_the_buyers_name_is_dropped_from_the_pdf_not_printed_as_a_question_mark(alice, plan):
    """The embedded font has no emoji: the PDF keeps every character it can draw and
    drops only the rest (the HTML invoice shows the name as typed)."""
    invoice = invoice_for(paid_order(alice, plan, buyer_name="Asha Rao 🚀", buyer_address="12 MG Road 👍🏽, Bengaluru"))
    text = pdf_text(invoice_pdf(invoice))
    assert "Asha Rao" in text and "12 MG Road, Bengaluru" in text
    assert "?" not in text and "🚀" not in text
