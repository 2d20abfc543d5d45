"""The one place that computes amounts. Pages, the API and the gateway show
what `quote` returns; nothing else multiplies or rounds money.

All values are integer paise. Rounding is half-up to the paisa, done with
integer arithmetic so no float ever touches an amount.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from .models import BILLING_CYCLES, CURRENCY


class PricingError(ValueError):
    pass


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise PricingError("amounts are never negative")
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Quote:
    unit_price_paise: int
    billing_cycle_months: int
    gross_paise: int
    discount_percent: int
    discount_paise: int
    subtotal_paise: int
    gst_rate_percent: int
    tax_paise: int
    total_paise: int
    currency: str = CURRENCY


def paise_from_rupees(amount: Decimal) -> int:
    """Rupees typed by staff (a Decimal with at most two decimals) as integer paise,
    exactly: "2240.50" -> 224050. Anything else is a PricingError, never rounded."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise PricingError("an amount in rupees is a non-negative number")
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise PricingError("an amount in rupees has at most two decimals (paise)")
    return int(paise)


# Rupees as a person types them: digits, then at most two decimals. No sign, exponent,
# separator or other script's digits: what cannot be read exactly is refused, never guessed.
TYPED_RUPEES = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


def paise_from_typed_rupees(text: str) -> int:
    """Rupees typed by staff ("500", "500.5", "500.50") as integer paise, exactly.
    "1e3", "-5000", "5,000", "500.505" and the like are a PricingError."""
    if not TYPED_RUPEES.fullmatch(text or ""):
        raise PricingError("type the amount in rupees as digits with at most two decimals, like 500 or 500.50")
    return paise_from_rupees(Decimal(text))


def quote(plan, billing_cycle_months: int, gst_rate_percent: int | None = None) -> Quote:
    """Price `billing_cycle_months` of `plan`: subtotal (after the cycle discount),
    GST on the subtotal rounded half-up, and their sum."""
    if billing_cycle_months not in BILLING_CYCLES:
        raise PricingError(f"Billing cycle must be one of {', '.join(map(str, BILLING_CYCLES))} months.")
    rate = settings.GST_RATE_PERCENT if gst_rate_percent is None else gst_rate_percent
    unit = plan.price_paise
    if not isinstance(unit, int) or not isinstance(rate, int):
        raise PricingError("prices and rates must be integers")
    gross = unit * billing_cycle_months
    discount_percent = plan.discount_percent_for(billing_cycle_months)
    discount = divide_half_up(gross * discount_percent, 100)
    subtotal = gross - discount
    tax = divide_half_up(subtotal * rate, 100)
    return Quote(
        unit_price_paise=unit,
        billing_cycle_months=billing_cycle_months,
        gross_paise=gross,
        discount_percent=discount_percent,
        discount_paise=discount,
        subtotal_paise=subtotal,
        gst_rate_percent=rate,
        tax_paise=tax,
        total_paise=subtotal + tax,
    )


@dataclass(frozen=True)
class UpgradeQuote:
    """What moving a server to a dearer plan costs for the rest of its period
    (CONTRACT: Plan changes), with the figures the customer is shown."""

    old_period_paise: int  # P_old: the old plan's subtotal for the server's cycle
    new_period_paise: int  # P_new: the new plan's, both at today's prices, cycle discount included
    days_left: int  # D_left: from `service_from` to `service_until`, at least 1
    period_days: int  # D_period: calendar days of the current period
    service_from: date
    service_until: date
    billing_cycle_months: int
    subtotal_paise: int
    gst_rate_percent: int
    tax_paise: int
    total_paise: int
    currency: str = CURRENCY

    @property
    def difference_paise(self):
        return self.new_period_paise - self.old_period_paise


def upgrade_quote(old_plan, new_plan, *, billing_cycle_months, paid_until, today=None, gst_rate_percent=None):
    """Price an upgrade: (P_new - P_old) x D_left / D_period, rounded half-up once,
    then GST as for any order. Days are calendar days in the portal's time zone:
    the period runs from `paid_until` less the cycle's months to `paid_until`;
    D_left counts from `today` (the order's date) to `paid_until`'s date, at least 1.
    Raises PricingError unless the new plan costs more for this cycle."""
    old = quote(old_plan, billing_cycle_months, gst_rate_percent)
    new = quote(new_plan, billing_cycle_months, gst_rate_percent)
    if new.subtotal_paise <= old.subtotal_paise:
        raise PricingError("An upgrade is to a plan that costs more.")
    end = timezone.localtime(paid_until)
    period_days = (end.date() - (end - relativedelta(months=billing_cycle_months)).date()).days
    today = today or timezone.localdate()
    days_left = max((end.date() - today).days, 1)
    subtotal = divide_half_up((new.subtotal_paise - old.subtotal_paise) * days_left, period_days)
    tax = divide_half_up(subtotal * new.gst_rate_percent, 100)
    return UpgradeQuote(
        old_period_paise=old.subtotal_paise,
        new_period_paise=new.subtotal_paise,
        days_left=days_left,
        period_days=period_days,
        service_from=min(today, end.date()),
        service_until=end.date(),
        billing_cycle_months=billing_cycle_months,
        subtotal_paise=subtotal,
        gst_rate_percent=new.gst_rate_percent,
        tax_paise=tax,
        total_paise=subtotal + tax,
    )


@dataclass(frozen=True)
class UnusedRenewal:
    months: int  # whole months of the renewal not begun at the moment asked
    paise: int  # the part of its total they paid for


def renewal_unused(total_paise: int, *, period_start, months: int, at) -> UnusedRenewal:
    """What a paid renewal (its `months` from `period_start`, the due date it
    extended) holds that cannot be used from `at` on, when its server ends then:
    its whole months not begun (calendar months in the portal's time zone, as
    paid periods count them), all of them when none began, and that share of
    the total, half-up. A month already begun is the customer's."""
    start = timezone.localtime(period_start)
    if at <= start:
        unused = months
    else:
        unused = sum(1 for month in range(1, months) if start + relativedelta(months=month) >= at)
    return UnusedRenewal(unused, reduced_in_proportion(total_paise, unused, months) if unused else 0)


def split_gst(tax_paise: int, intra_state: bool) -> dict:
    """Invoice lines for the tax: CGST + SGST halves within a state (the odd
    paisa goes to SGST so the lines add up exactly), IGST across states."""
    if not intra_state:
        return {"igst_paise": tax_paise}
    cgst = tax_paise // 2
    return {"cgst_paise": cgst, "sgst_paise": tax_paise - cgst}


def commission_paise(subtotal_paise: int, percent) -> int:
    """An affiliate's commission: `percent` (a Decimal with at most two decimals)
    of an order's subtotal, GST excluded, rounded half-up to the paisa."""
    basis_points = percent * 100
    if basis_points != int(basis_points):
        raise PricingError("commission percent has at most two decimals")
    return divide_half_up(subtotal_paise * int(basis_points), 10000)


def reduced_in_proportion(amount_paise: int, kept_paise: int, whole_paise: int) -> int:
    """`amount_paise` scaled by kept / whole, half-up: a commission after part of
    its order was refunded (whole = the order's total, kept = what was not refunded).
    Always computed from the original amount, so repeated refunds never compound rounding."""
    if whole_paise <= 0:
        raise PricingError("the whole must be positive")
    return divide_half_up(amount_paise * max(kept_paise, 0), whole_paise)


@dataclass(frozen=True)
class TaxLine:
    label: str  # "CGST", "SGST" or "IGST"
    rate_percent: Decimal
    amount_paise: int

    @property
    def rate_text(self):
        """9, 2.5 or 18: no trailing zeros and never exponent notation."""
        return f"{self.rate_percent.normalize():f}"


def tax_lines(tax_paise: int, gst_rate_percent: int, intra_state: bool) -> tuple[TaxLine, ...]:
    """The tax as the invoice prints it, and as checkout and the order page show it
    before there is an invoice: CGST + SGST at half the rate each, or IGST."""
    split = split_gst(tax_paise, intra_state)
    if intra_state:
        half_rate = Decimal(gst_rate_percent) / 2
        return (TaxLine("CGST", half_rate, split["cgst_paise"]), TaxLine("SGST", half_rate, split["sgst_paise"]))
    return (TaxLine("IGST", Decimal(gst_rate_percent), split["igst_paise"]),)
