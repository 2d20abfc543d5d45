"""Orders that register an autopay mandate (CONTRACT: Autopay): the records' side.

An order created with autopay carries the Razorpay customer and the token's limit in
`payment_metadata["recurring"]`; paying it registers the token. The Razorpay calls
(the customer, the order with token terms) are payments.recurring's; what the
mandate means for a server (debits, status) is the subscription layer's
(lifecycle.autopay).
"""

import re

from django.conf import settings

CONTACT_PATTERN = re.compile(r"^(?:\+91)?([0-9]{10})$")


class ContactInvalid(ValueError):
    """No usable mobile number: none given and none remembered, or a malformed one."""


def contact_parse(value) -> str:
    """The ten digits of an Indian mobile number given as 10 digits, optionally after +91."""
    match = CONTACT_PATTERN.fullmatch(str(value or "").strip().replace(" ", ""))
    if not match:
        raise ContactInvalid("Give a 10-digit mobile number, optionally after +91.")
    return match.group(1)


def razorpay_contact(digits) -> str:
    return f"+91{digits}"


def recurring_metadata(customer) -> dict:
    """What an autopay order keeps in payment_metadata["recurring"]: the customer
    (a RazorpayCustomer), and the token's limit as it stood when the order was made
    (integer paise)."""
    return {
        "customer_id": customer.razorpay_customer_id,
        "contact": customer.contact,
        "max_amount_paise": settings.AUTOPAY_MAX_PAISE,
    }


def order_is_recurring(order) -> bool:
    return bool(order.payment_metadata.get("recurring"))
