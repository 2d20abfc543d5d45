"""What alerts plugs into the outbox (below it), imported once by AlertsConfig.ready():
a mail given up opens an incident."""

from outbox.services import mail_failed_handlers

from .services import incident_open

if incident_open not in mail_failed_handlers:
    mail_failed_handlers.append(incident_open)
