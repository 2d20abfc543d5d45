"""Autopay's Razorpay side of an order (CONTRACT: Autopay).

Razorpay needs a customer with a mobile number for recurring payments. The portal
makes that customer once per user and keeps it (billing.RazorpayCustomer); the
number is asked once and remembered. An autopay order's Razorpay order is made with
the customer and the token's terms (max_amount = AUTOPAY_MAX_PAISE when the order
was made), so paying it registers the token.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from billing.models import RazorpayCustomer
from billing.recurring import ContactInvalid, contact_parse, razorpay_contact

from .gateways import RecurringTerms, get_gateway

__all__ = ["ContactInvalid", "recurring_customer_ensure", "recurring_terms"]

# How long a registered token may be debited; the customer can end it any time.
TOKEN_YEARS = 10


def recurring_customer_ensure(user, contact=None) -> RazorpayCustomer:
    """The user's Razorpay customer, made once and kept; a new number replaces the
    remembered one (and makes the customer anew for it). Raises ContactInvalid when
    there is no usable number, GatewayError when Razorpay cannot be reached. Safe to
    run twice at once: Razorpay answers the same customer to `fail_existing` "0",
    and the id is written only where none is yet."""
    digits = contact_parse(contact) if contact not in (None, "") else None
    customer = RazorpayCustomer.objects.filter(user=user).first()
    if customer is None:
        if digits is None:
            raise ContactInvalid("We need your mobile number for autopay: Razorpay requires one.")
        customer, _ = RazorpayCustomer.objects.get_or_create(user=user, defaults={"contact": digits})
    if digits is not None and digits != customer.contact:
        RazorpayCustomer.objects.filter(pk=customer.pk).update(
            contact=digits, razorpay_customer_id="", updated_at=timezone.now()
        )
        customer.contact, customer.razorpay_customer_id = digits, ""
    if customer.razorpay_customer_id:
        return customer
    customer_id = get_gateway().customer_create(
        name=user.billing_name or user.full_name or user.email,
        email=user.email,
        contact=razorpay_contact(customer.contact),
    )
    with transaction.atomic():
        RazorpayCustomer.objects.filter(pk=customer.pk, contact=customer.contact, razorpay_customer_id="").update(
            razorpay_customer_id=customer_id, updated_at=timezone.now()
        )
    customer.refresh_from_db()
    return customer


def recurring_terms(order, *, now=None) -> RecurringTerms | None:
    """The customer and token terms the order's Razorpay order is made with, or None."""
    recurring = order.payment_metadata.get("recurring")
    if not recurring:
        return None
    expire = (now or timezone.now()) + timedelta(days=365 * TOKEN_YEARS)
    return RecurringTerms(
        customer_id=recurring["customer_id"],
        max_amount_paise=recurring["max_amount_paise"],
        expire_at=int(expire.timestamp()),
    )
