"""Changes to a customer's account that other apps ask for."""

from .models import User


def billing_details_remember(user, *, name, address, state, gstin):
    """Keep the billing details a customer last checked out with, so the next checkout
    and the account page start from them. Writes only those four columns, and only
    when something changed; past invoices keep their own snapshot."""
    values = {"billing_name": name, "billing_address": address, "billing_state": state, "gstin": gstin}
    if all(getattr(user, field) == value for field, value in values.items()):
        return
    User.objects.filter(pk=user.pk).update(**values)
    for field, value in values.items():
        setattr(user, field, value)
