"""GST tax invoices: written once, when the order is paid, and rendered from what was written.

`invoice_document` builds the stored `TaxInvoice` from the order's snapshot
columns and the seller settings of that moment (called by the payment funnel,
inside its transaction). `invoice_for` turns the stored row into the plain
dataclass the HTML page and the PDF both render, so they cannot disagree and
nothing on them is recomputed from settings. No amount is computed here except
the CGST/SGST split (pricing.split_gst: the odd paisa goes to SGST).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from . import pricing
from .gst import is_intra_state, place_of_supply, sac_description, state_code, state_label
from .models import Order, TaxInvoice

INVOICED_STATUSES = (Order.Status.PAID, Order.Status.REFUNDED)
ODD_PAISA_RULE = "CGST is half the tax rounded down; SGST is the rest, so an odd paisa goes to SGST."


class NoInvoice(LookupError):
    """The order is not paid (or refunded), so it has no tax invoice."""


@dataclass(frozen=True)
class Party:
    name: str
    address: str
    state: str
    gstin: str


@dataclass(frozen=True)
class Invoice:
    number: str
    date: date
    order_number: str
    seller: Party
    buyer: Party
    place_of_supply: str
    intra_state: bool
    sac: str
    sac_description: str
    description: str
    quantity_months: int
    unit_price_paise: int
    gross_paise: int
    discount_paise: int
    taxable_paise: int
    gst_rate_percent: int
    tax_lines: tuple[pricing.TaxLine, ...]
    tax_paise: int
    total_paise: int
    total_in_words: str
    refunded: bool
    odd_paisa_rule: str = ODD_PAISA_RULE


def invoice_description(order) -> str:
    if order.kind == order.Kind.UPGRADE:  # "Upgrade G.4GB → G.8GB, 12 Dec 2026 – 31 Dec 2026"
        return (
            f"Upgrade {order.previous_plan_name} → {order.plan_name}, "
            f"{order.service_from:%d %b %Y} – {order.service_until:%d %b %Y}"
        )
    months = order.billing_cycle_months
    return (
        f"{order.plan_name} server hosting ({order.plan_vcpu} vCPU, {order.plan_ram_gb} GB RAM, "
        f"{order.plan_disk_gb} GB disk), {months} month{'s' if months != 1 else ''}"
    )


def invoice_document(order) -> TaxInvoice:
    """The unsaved tax invoice of an order that has just been given its invoice
    number and date: seller details from settings now, buyer details from the
    order's snapshot, place of supply from the buyer's GSTIN or state."""
    return TaxInvoice(order=order, **invoice_fields(order))


def invoice_fields(order) -> dict:
    place = place_of_supply(order.buyer_state, order.buyer_gstin)
    code = state_code(place)
    intra_state = is_intra_state(place)
    split = pricing.split_gst(order.tax_paise, intra_state)
    upgrade = order.kind == order.Kind.UPGRADE
    return dict(
        number=order.invoice_number,
        issued_on=order.invoice_date,
        seller_name=settings.SELLER_NAME,
        seller_address=settings.SELLER_ADDRESS,
        seller_state=settings.SELLER_STATE,
        seller_gstin=settings.SELLER_GSTIN,
        buyer_name=order.buyer_name or order.user.email,
        buyer_address=order.buyer_address,
        buyer_state=order.buyer_state or (place if order.buyer_gstin else ""),
        buyer_gstin=order.buyer_gstin,
        place_of_supply=place,
        place_of_supply_code=code,
        intra_state=intra_state,
        lines=[
            {
                "description": invoice_description(order),
                "sac": settings.GST_SAC,
                # An upgrade is one supply: the difference for the days its line names.
                "quantity": 1 if upgrade else order.billing_cycle_months,
                "unit_price_paise": order.subtotal_paise if upgrade else order.unit_price_paise,
                "gross_paise": order.subtotal_paise + order.discount_paise,
                "discount_paise": order.discount_paise,
                "taxable_paise": order.subtotal_paise,
            }
        ],
        taxable_paise=order.subtotal_paise,
        gst_rate_percent=order.gst_rate_percent,
        cgst_paise=split.get("cgst_paise", 0),
        sgst_paise=split.get("sgst_paise", 0),
        igst_paise=split.get("igst_paise", 0),
        tax_paise=order.tax_paise,
        total_paise=order.total_paise,
    )


def tax_lines_of(document) -> tuple[pricing.TaxLine, ...]:
    """The tax lines of a stored invoice or credit note (same field names), as written."""
    if document.intra_state:
        half_rate = Decimal(document.gst_rate_percent) / 2
        return (
            pricing.TaxLine("CGST", half_rate, document.cgst_paise),
            pricing.TaxLine("SGST", half_rate, document.sgst_paise),
        )
    return (pricing.TaxLine("IGST", Decimal(document.gst_rate_percent), document.igst_paise),)


def place_label(name, code) -> str:
    return f"{name} ({code})" if code else state_label(name)


def invoice_for(order) -> Invoice:
    """The stored tax invoice of a paid or refunded order, ready to render.
    Raises NoInvoice for any other order: only the payment funnel issues them."""
    document = getattr(order, "tax_invoice", None) if order.status in INVOICED_STATUSES else None
    if document is None:
        raise NoInvoice(order.number)
    (line,) = document.lines
    return Invoice(
        number=document.number,
        date=document.issued_on,
        order_number=order.number,
        seller=Party(document.seller_name, document.seller_address, document.seller_state, document.seller_gstin),
        buyer=Party(document.buyer_name, document.buyer_address, document.buyer_state, document.buyer_gstin),
        place_of_supply=place_label(document.place_of_supply, document.place_of_supply_code),
        intra_state=document.intra_state,
        sac=line["sac"],
        sac_description=sac_description(line["sac"]),
        description=line["description"],
        quantity_months=line["quantity"],
        unit_price_paise=line["unit_price_paise"],
        gross_paise=line["gross_paise"],
        discount_paise=line["discount_paise"],
        taxable_paise=document.taxable_paise,
        gst_rate_percent=document.gst_rate_percent,
        tax_lines=tax_lines_of(document),
        tax_paise=document.tax_paise,
        total_paise=document.total_paise,
        total_in_words=amount_in_words(document.total_paise),
        refunded=order.status == Order.Status.REFUNDED,
    )


ONES = (
    "Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen Fourteen Fifteen "
    "Sixteen Seventeen Eighteen Nineteen"
).split()
TENS = "_ _ Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split()


def _below_hundred(n):
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + (f"-{ONES[ones]}" if ones else "")


def number_in_words(n: int) -> str:
    """Indian numbering: 12,34,56,789 -> "Twelve Crore Thirty-Four Lakh Fifty-Six
    Thousand Seven Hundred Eighty-Nine". Crores above 99 are spelled recursively."""
    if n < 0:
        raise ValueError("amounts are never negative")
    if n == 0:
        return "Zero"
    parts = []
    crore, n = divmod(n, 10_000_000)
    lakh, n = divmod(n, 100_000)
    thousand, n = divmod(n, 1000)
    hundred, n = divmod(n, 100)
    if crore:
        parts.append(f"{number_in_words(crore)} Crore")
    if lakh:
        parts.append(f"{_below_hundred(lakh)} Lakh")
    if thousand:
        parts.append(f"{_below_hundred(thousand)} Thousand")
    if hundred:
        parts.append(f"{ONES[hundred]} Hundred")
    if n:
        parts.append(_below_hundred(n))
    return " ".join(parts)


def amount_in_words(paise: int) -> str:
    """264320 -> "Rupees Two Thousand Six Hundred Forty-Three and Twenty Paise Only"."""
    rupees, remainder = divmod(paise, 100)
    words = f"Rupees {number_in_words(rupees)}"
    if remainder:
        words += f" and {number_in_words(remainder)} Paise"
    return words + " Only"
