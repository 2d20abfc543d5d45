from celery import shared_task

from core.periodic import periodic_job

from .services import mail_deliver, outbox_sweep


@shared_task(acks_late=True)
def send_outbound_mail(mail_id):
    """The fast path: the first attempt at a mail right after its cause commits.
    Failures are recorded on the row and retried by the sweeper, so no Celery retry."""
    return mail_deliver(mail_id, first_attempt=True)


@shared_task
@periodic_job
def sweep_outbox():
    """Every minute: send what the fast path did not (see outbox_sweep)."""
    return outbox_sweep()
