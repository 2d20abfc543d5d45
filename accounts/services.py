"""Changes to a customer's account that other apps ask for."""

from django.db import transaction

from .emails import account_mail_queue, password_change_cause
from .models import ApiToken, User


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


@transaction.atomic
def password_changed(user) -> int:
    """After `user`'s password was changed or reset, by them or by staff: every API token of theirs is
    revoked (one minted with a stolen password must not outlive the new one; sessions already end, keyed to
    the password hash) and the owner is told, the mail saying how many tokens went. Call it in the
    transaction that saved the new password. Returns how many tokens were revoked. A second call for the same
    password revokes what was made since and queues no second mail (the notice is keyed to the password)."""
    _, deleted = ApiToken.objects.filter(user=user).delete()
    revoked = deleted.get(ApiToken._meta.label, 0)
    account_mail_queue("password-changed", user, cause=password_change_cause(user), tokens_revoked=revoked)
    return revoked
