"""Servers' customer mail, queued through the outbox (outbox.services.mail_queue)."""

from django.conf import settings

from outbox.services import mail_queue


def server_active_mail_queue(server):
    """The "your server is active" mail, once per server: call it in the transaction that activates it."""
    return mail_queue(
        f"server-active:{server.pk}",
        to=[server.user.email],
        subject=f"Your server {server.hostname} is active",
        body=(
            "Your server is ready.\n\n"
            f"Hostname: {server.hostname}\n"
            f"IP address: {server.ip_address or 'being assigned'}\n\n"
            f"Details: {settings.SITE_URL}/servers/{server.pk}/\n"
        ),
    )
