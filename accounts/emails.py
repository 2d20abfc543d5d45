"""Account emails: welcome on sign-up, a changed password, a new API token. Each tells
the owner what happened and where to act if it was not them. Queued through the outbox
in the transaction of the change (sent by the worker once it commits)."""

from django.conf import settings
from django.utils.crypto import salted_hmac

from outbox.services import mail_queue


def welcome_text(user, **_):
    return (
        f"Welcome to {settings.PORTAL_NAME}",
        f"Your account {user.email} is ready.\n\n"
        f"Choose a plan: {settings.SITE_URL}/plans/\nYour servers: {settings.SITE_URL}/servers/\n",
    )


def password_changed_text(user, tokens_revoked=0, **_):
    if tokens_revoked:
        tokens = (
            f"{tokens_revoked} API token{' was' if tokens_revoked == 1 else 's were'} revoked with it: programs "
            f"that used {'it' if tokens_revoked == 1 else 'them'} need a new one ({settings.SITE_URL}/accounts/tokens/).\n\n"
        )
    else:
        tokens = "You had no API tokens, so none were revoked.\n\n"
    return (
        f"Your {settings.PORTAL_NAME} password was changed",
        f"The password of {user.email} was just changed, and every other signed-in session was ended. "
        f"{tokens}"
        f"If this was not you, reset your password now: {settings.SITE_URL}/accounts/password_reset/\n",
    )


def api_token_created_text(user, token=None, **_):
    return (
        f"A new {settings.PORTAL_NAME} API token was created",
        f"A new API token starting {token.prefix}, valid until {token.expires_at:%d %b %Y}, was created for "
        f"{user.email}. It can act as you through the API.\n\n"
        f"If this was not you, revoke it and change your password: {settings.SITE_URL}/accounts/tokens/\n",
    )


ACCOUNT_EMAILS = {
    "welcome": welcome_text,
    "password-changed": password_changed_text,
    "api-token-created": api_token_created_text,
}


def password_change_cause(user):
    """One cause per password change, without the password hash itself: the outbox's
    cause keys are readable by staff who may view outgoing mail."""
    return salted_hmac("account-password-changed", user.password).hexdigest()[:20]


def account_mail_queue(kind, user, *, cause, **details):
    """Queue the `kind` notice for `user`, once per `cause` (e.g. the token's id)."""
    subject, body = ACCOUNT_EMAILS[kind](user, **details)
    return mail_queue(f"account-{kind}:{user.pk}:{cause}", to=[user.email], subject=subject, body=body)
