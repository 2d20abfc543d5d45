"""Account emails: welcome on sign-up, a changed password, a new API token. Each tells
the owner what happened and where to act if it was not them. Sent by the worker after
the change commits (accounts.tasks.send_account_email)."""

from django.conf import settings
from django.core.mail import send_mail

from hostingportal.queueing import enqueue

from .models import ApiToken, User


def welcome_text(user, **_):
    return (
        f"Welcome to {settings.PORTAL_NAME}",
        f"Your account {user.email} is ready.\n\n"
        f"Choose a plan: {settings.SITE_URL}/plans/\nYour servers: {settings.SITE_URL}/servers/\n",
    )


def password_changed_text(user, **_):
    return (
        f"Your {settings.PORTAL_NAME} password was changed",
        f"The password of {user.email} was just changed, and every other signed-in session was ended.\n\n"
        f"If this was not you, reset your password now: {settings.SITE_URL}/accounts/password_reset/\n",
    )


def api_token_created_text(user, token_id=None, **_):
    token = ApiToken.objects.filter(pk=token_id).first()
    which = f"starting {token.prefix}, valid until {token.expires_at:%d %b %Y}" if token else "(already revoked)"
    return (
        f"A new {settings.PORTAL_NAME} API token was created",
        f"A new API token {which} was created for {user.email}. It can act as you through the API.\n\n"
        f"If this was not you, revoke it and change your password: {settings.SITE_URL}/accounts/tokens/\n",
    )


ACCOUNT_EMAILS = {
    "welcome": welcome_text,
    "password_changed": password_changed_text,
    "api_token_created": api_token_created_text,
}


def account_email_send(kind, user_id, **details):
    user = User.objects.get(pk=user_id)
    subject, body = ACCOUNT_EMAILS[kind](user, **details)
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[user.email])


def queue_account_email(kind, user_id, **details):
    """Call after commit. A broker outage loses the notice, not the change (logged by enqueue)."""
    from .tasks import send_account_email

    enqueue(send_account_email, kind, user_id, **details)
