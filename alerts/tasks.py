from celery import shared_task

from .services import incident_notify


@shared_task(acks_late=True)
def send_incident_alert(incident_id, event, note=""):
    """Deliver an incident's message. No automatic retry: a channel that already
    delivered must not repeat itself; failures are kept on the incident."""
    return incident_notify(incident_id, event, note)
