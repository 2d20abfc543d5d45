"""Documents for the GSTR-1 tests, written the way the payment funnel and the refund
service write them: numbered from the real series, dated in Asia/Kolkata."""

import datetime
import zoneinfo

from django.utils import timezone

from billing.factories import HostingPlanFactory, OrderFactory, credit_note_issued
from billing.gst import gstin_check_character
from billing.models import InvoiceSequence
from billing.services import sequence_next

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
SELLER_GSTIN = "29AAGCB7383J1Z4"


def ist(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=KOLKATA)


def gstin(state_code: str, pan: str = "AABCT1234F") -> str:
    first_14 = f"{state_code}{pan}1Z"
    return first_14 + gstin_check_character(first_14)


def plan_at(paise: int):
    return HostingPlanFactory(slug=f"plan-{paise}", price_paise=paise)


def invoiced(paid_at, *, price_paise=224000, state="Karnataka", buyer_gstin="", user=None):
    """A paid order and its stored invoice, paid at `paid_at`."""
    day = timezone.localdate(paid_at)
    extra = {"user": user} if user else {}
    return OrderFactory(
        plan=plan_at(price_paise),
        status="paid",
        paid_at=paid_at,
        invoice_number=sequence_next(InvoiceSequence, "HP", day),
        invoice_date=day,
        buyer_name="Buyer",
        buyer_state=state,
        buyer_gstin=buyer_gstin,
        **extra,
    )


def credited(order, amount_paise, when):
    """A processed refund and its credit note, issued at `when`; a full one refunds the order."""
    note = credit_note_issued(order, amount_paise, when=when)
    if amount_paise == order.total_paise:
        type(order).objects.filter(pk=order.pk).update(status="refunded")
    return note
