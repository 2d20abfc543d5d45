"""GST credit notes (CGST Rule 53) for processed refunds.

For a refund of R paise on an invoice at g %: taxable = R × 100 / (100 + g)
rounded half-up, tax = R − taxable (the contract's formula). The note that
completes the refund of the invoice credits exactly what is left of the
invoice's figures, so a full refund credits the invoice's own numbers. Never
more than the invoice: a part that would take a figure past what is left of it
is moved to the other (taxable <-> tax, CGST <-> SGST). Within a state the tax
is split as on the invoice: CGST half rounded down, SGST the rest.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Sum
from django.utils import timezone

from core.templatetags.money import rupees

from .gst import sac_description
from .invoices import Party, amount_in_words, place_label, tax_lines_of
from .models import CreditNote, CreditNoteSequence, GstDocument
from .pricing import divide_half_up
from .services import sequence_next

# The parties, place of supply and tax regime: exactly as on the invoice.
COPIED_FROM_INVOICE = tuple(
    field.name
    for field in GstDocument._meta.get_fields()
    if not field.name.endswith("_paise") and field.name != "created_at"
)
FIGURES = ("taxable_paise", "tax_paise", "cgst_paise", "sgst_paise", "igst_paise", "amount_paise")


def credited_so_far(invoice) -> dict:
    totals = invoice.credit_notes.aggregate(**{name: Sum(name) for name in FIGURES})
    return {name: totals[name] or 0 for name in FIGURES}


def credit_figures(invoice, amount_paise, credited) -> dict:
    """The figures of a credit note for `amount_paise` on `invoice`, given what
    earlier notes `credited` (sums of FIGURES)."""
    left = {name: getattr(invoice, name) - credited[name] for name in FIGURES if name != "amount_paise"}
    left_total = invoice.total_paise - credited["amount_paise"]
    if not 0 < amount_paise <= left_total:
        raise ValueError(f"A credit note of {rupees(amount_paise)}; {rupees(left_total)} of the invoice are left.")
    if amount_paise == left_total:  # completes the refund: exactly what is left
        return {**left, "amount_paise": amount_paise}
    taxable = divide_half_up(amount_paise * 100, 100 + invoice.gst_rate_percent)
    taxable = min(taxable, left["taxable_paise"])
    tax = amount_paise - taxable
    if tax > left["tax_paise"]:
        tax = left["tax_paise"]
        taxable = amount_paise - tax
    figures = {"amount_paise": amount_paise, "taxable_paise": taxable, "tax_paise": tax}
    if invoice.intra_state:
        cgst = tax // 2
        sgst = tax - cgst
        if sgst > left["sgst_paise"]:
            sgst = left["sgst_paise"]
            cgst = tax - sgst
        elif cgst > left["cgst_paise"]:
            cgst = left["cgst_paise"]
            sgst = tax - cgst
        figures.update(cgst_paise=cgst, sgst_paise=sgst, igst_paise=0)
    else:
        figures.update(cgst_paise=0, sgst_paise=0, igst_paise=tax)
    return figures


def credit_note_issue(order, refund, *, when=None) -> CreditNote | None:
    """Issue the credit note of a refund just processed, on the order's stored
    invoice. Caller holds the order lock (then the payment's). Idempotent per
    refund. None for an order with no invoice (never paid)."""
    existing = CreditNote.objects.filter(refund=refund).first()
    if existing:
        return existing
    invoice = getattr(order, "tax_invoice", None)
    if invoice is None:
        return None
    day = timezone.localdate(when or timezone.now())
    figures = credit_figures(invoice, refund.amount_paise, credited_so_far(invoice))
    return CreditNote.objects.create(
        refund=refund,
        order=order,
        invoice=invoice,
        number=sequence_next(CreditNoteSequence, "CN", day),
        issued_on=day,
        invoice_number=invoice.number,
        invoice_date=invoice.issued_on,
        reason=refund.reason or "Refund",
        **{name: getattr(invoice, name) for name in COPIED_FROM_INVOICE},
        **figures,
    )


@dataclass(frozen=True)
class CreditNoteView:
    """What the credit note page and PDF render: the stored note, as written."""

    id: int
    number: str
    date: date
    order_number: str
    invoice_number: str
    invoice_date: date
    seller: Party
    buyer: Party
    place_of_supply: str
    intra_state: bool
    sac: str
    sac_description: str
    description: str
    taxable_paise: int
    tax_lines: tuple
    tax_paise: int
    amount_paise: int
    amount_in_words: str
    reason: str


def credit_note_view(note) -> CreditNoteView:
    return CreditNoteView(
        id=note.pk,
        number=note.number,
        date=note.issued_on,
        order_number=note.order.number,
        invoice_number=note.invoice_number,
        invoice_date=note.invoice_date,
        seller=Party(note.seller_name, note.seller_address, note.seller_state, note.seller_gstin),
        buyer=Party(note.buyer_name, note.buyer_address, note.buyer_state, note.buyer_gstin),
        place_of_supply=place_label(note.place_of_supply, note.place_of_supply_code),
        intra_state=note.intra_state,
        sac=note.invoice.lines[0]["sac"],  # the invoice's, as written
        sac_description=sac_description(note.invoice.lines[0]["sac"]),
        description=f"Refund against invoice {note.invoice_number}: {note.invoice.lines[0]['description']}",
        taxable_paise=note.taxable_paise,
        tax_lines=tax_lines_of(note),
        tax_paise=note.tax_paise,
        amount_paise=note.amount_paise,
        amount_in_words=amount_in_words(note.amount_paise),
        reason=note.reason,
    )
