"""The services accounting code (GST_SAC) and its description on every invoice and
credit note, HTML and PDF; a stored document keeps the code it was issued with."""

import pytest

from billing.credit_notes import credit_note_view
from billing.factories import credit_note_issued
from billing.invoice_pdf import credit_note_pdf, invoice_pdf
from billing.invoices import invoice_for

from .test_invoices import paid_order, pdf_text

DESCRIPTION = "Hosting and information technology (IT) infrastructure provisioning services"


@pytest.fixture(autouse=True)
def _seller(settings):
    settings.SELLER_STATE = "Karnataka"
    settings.SELLER_GSTIN = "29AAGCB7383J1Z4"


def test_the_invoice_shows_the_sac_and_its_description_on_the_page_and_the_pdf(alice, client, plan):
    order = paid_order(alice, plan)
    client.force_login(alice)
    page = client.get(f"/orders/{order.number}/invoice/").content.decode()
    assert f"SAC 998315:</strong> {DESCRIPTION}" in page
    assert f"SAC 998315: {DESCRIPTION}" in " ".join(pdf_text(invoice_pdf(invoice_for(order))).split())


def test_the_invoice_takes_the_code_from_gst_sac_and_keeps_it_when_the_setting_changes(alice, plan, settings):
    settings.GST_SAC = "998316"
    order = paid_order(alice, plan)
    settings.GST_SAC = "998315"
    invoice = invoice_for(order)
    assert (invoice.sac, invoice.sac_description) == ("998316", "IT infrastructure and network management services")


def test_a_credit_note_shows_its_invoices_sac_and_description_on_the_page_and_the_pdf(alice, client, plan, settings):
    settings.GST_SAC = "998316"
    order = paid_order(alice, plan)
    note = credit_note_issued(order, 10000)
    settings.GST_SAC = "998315"  # later settings never rewrite a stored document
    view = credit_note_view(note)
    assert view.sac == "998316"
    client.force_login(alice)
    page = client.get(f"/orders/{order.number}/credit-notes/{note.pk}/").content.decode()
    assert "SAC 998316:</strong> IT infrastructure and network management services" in page
    assert "SAC 998316: IT infrastructure and network management services" in " ".join(
        pdf_text(credit_note_pdf(view)).split()
    )
