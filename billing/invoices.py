"""GST tax invoices, assembled once from an order's snapshot columns.

`invoice_for` returns a plain dataclass; the HTML page and the PDF both render
from it, so they cannot disagree. No amount is computed here except the
CGST/SGST split, which comes from pricing.split_gst and adds up to tax_paise.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings

from . import pricing
from .gst import is_intra_state, place_of_supply, state_label
from .models import Order

SAC_HOSTING = "998315"  # Hosting and IT infrastructure provisioning services
INVOICED_STATUSES = (Order.Status.PAID, Order.Status.REFUNDED)


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


def invoice_for(order) -> Invoice:
    """The tax invoice of a paid or refunded order. Raises NoInvoice for any
    other order: only the payment funnel assigns invoice numbers."""
    if order.status not in INVOICED_STATUSES or not order.invoice_number:
        raise NoInvoice(order.number)
    place = place_of_supply(order.buyer_state)
    intra_state = is_intra_state(place)
    months = order.billing_cycle_months
    return Invoice(
        number=order.invoice_number,
        date=order.invoice_date or order.paid_at.date(),
        order_number=order.number,
        seller=Party(settings.SELLER_NAME, settings.SELLER_ADDRESS, settings.SELLER_STATE, settings.SELLER_GSTIN),
        buyer=Party(order.buyer_name or order.user.email, order.buyer_address, order.buyer_state, order.buyer_gstin),
        place_of_supply=state_label(place),
        intra_state=intra_state,
        sac=SAC_HOSTING,
        description=(
            f"{order.plan_name} server hosting ({order.plan_vcpu} vCPU, {order.plan_ram_gb} GB RAM, "
            f"{order.plan_disk_gb} GB disk), {months} month{'s' if months != 1 else ''}"
        ),
        quantity_months=months,
        unit_price_paise=order.unit_price_paise,
        gross_paise=order.subtotal_paise + order.discount_paise,
        discount_paise=order.discount_paise,
        taxable_paise=order.subtotal_paise,
        gst_rate_percent=order.gst_rate_percent,
        tax_lines=pricing.tax_lines(order.tax_paise, order.gst_rate_percent, intra_state),
        tax_paise=order.tax_paise,
        total_paise=order.total_paise,
        total_in_words=amount_in_words(order.total_paise),
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
