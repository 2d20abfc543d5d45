"""audit_ledger's monthly pass checks the month just closed: a GSTR-1 return that would
not add up to its documents is an incident, resolved once it adds up again."""

import datetime

from alerts.models import Incident
from billing.models import TaxInvoice
from ops.audit import ledger_audit

from .world import credited, invoiced, ist

NOVEMBER = datetime.date(2026, 11, 1)


def gstr1_items(report):
    return [item for item in report.problems if item["check"] == "GSTR-1"]


def test_a_return_that_adds_up_raises_nothing(db):
    invoiced(ist(2026, 11, 3, 10), state="Kerala")
    assert gstr1_items(ledger_audit(monthly_for=NOVEMBER)) == []


def test_the_command_and_the_daily_beat_check_the_month_just_closed(db):
    from ops.audit import month_just_closed

    assert month_just_closed(datetime.date(2026, 12, 1)) == NOVEMBER == month_just_closed(datetime.date(2026, 12, 31))


def test_a_document_the_return_cannot_report_is_an_incident_until_it_is_fixed(db):
    order = invoiced(ist(2026, 11, 3, 10), state="Kerala")
    invoice = TaxInvoice.objects.get(order=order)
    TaxInvoice.objects.filter(pk=invoice.pk).update(place_of_supply_code="99")
    (item,) = gstr1_items(ledger_audit(monthly_for=NOVEMBER))
    assert item["order"] == "GSTR-1 2026-11" and invoice.number in item["problem"]
    incident = Incident.objects.get(key="monthly:GSTR-1:2026-11")
    assert incident.resolved_at is None
    TaxInvoice.objects.filter(pk=invoice.pk).update(place_of_supply_code="32")
    assert gstr1_items(ledger_audit(monthly_for=NOVEMBER)) == []
    incident.refresh_from_db()
    assert incident.resolved_at is not None


def test_a_credit_note_that_disagrees_with_its_invoice_is_caught_to_the_paisa(db):
    order = invoiced(ist(2026, 11, 3, 10), price_paise=10_000_000, state="Tamil Nadu")  # a B2CL invoice
    note = credited(order, 1_180_000, ist(2026, 11, 20, 10))
    type(note).objects.filter(pk=note.pk).update(buyer_gstin="33AABCT1234F1ZX")  # no longer what the invoice says
    problems = [item["problem"] for item in gstr1_items(ledger_audit(monthly_for=NOVEMBER))]
    assert "cdnur txval: the return says ₹0.00, the documents ₹10,000.00" in problems
